#!/usr/bin/env python3
"""add_irot.py IN.heic OUT.heic ANGLE — give the primary item of a single-image HEIC an
irot property (ANGLE quarter turns anticlockwise, as an iPhone does for a portrait photo
kept in landscape sensor order). heif-enc 1.15 cannot write irot itself.
Patches ipco, ipma, the sizes of iprp and meta, and the iloc offsets that point past meta."""
import struct, sys

src, dst, angle = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())

def boxes(buf, start, end):
    i = start
    while i + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[i:i + 8])
        yield i, size, typ.decode()
        i += size

meta = next((o, s) for o, s, t in boxes(b, 0, len(b)) if t == "meta")
m_off, m_size = meta
kids = {t: (o, s) for o, s, t in boxes(b, m_off + 12, m_off + m_size)}
pitm_off = kids["pitm"][0]
primary = struct.unpack(">H", b[pitm_off + 12:pitm_off + 14])[0]
iprp_off, iprp_size = kids["iprp"]
pk = {t: (o, s) for o, s, t in boxes(b, iprp_off + 8, iprp_off + iprp_size)}
ipco_off, ipco_size = pk["ipco"]
ipma_off, ipma_size = pk["ipma"]
nprops = sum(1 for _ in boxes(b, ipco_off + 8, ipco_off + ipco_size))
assert ipma_off > ipco_off and b[ipma_off + 8] == 0 and b[ipma_off + 11] & 1 == 0  # version 0, 7-bit indexes

# 1. ipma: add (essential, nprops+1) to the primary item's entry.
i = ipma_off + 16
count = struct.unpack(">I", b[ipma_off + 12:ipma_off + 16])[0]
for _ in range(count):
    item, n = struct.unpack(">HB", b[i:i + 3])
    if item == primary:
        b[i + 2] = n + 1
        b[i + 3 + n:i + 3 + n] = bytes([0x80 | (nprops + 1)])
        break
    i += 3 + n
struct.pack_into(">I", b, ipma_off, ipma_size + 1)
# 2. ipco: append the irot box (before ipma, so ipma's edit above is unaffected).
irot = struct.pack(">I4sB", 9, b"irot", angle & 3)
b[ipco_off + ipco_size:ipco_off + ipco_size] = irot
struct.pack_into(">I", b, ipco_off, ipco_size + 9)
struct.pack_into(">I", b, iprp_off, iprp_size + 10)
struct.pack_into(">I", b, m_off, m_size + 10)
# 3. iloc (before iprp in heif-enc's output): file offsets past meta move by 10.
lo, ls = kids["iloc"]
assert lo < iprp_off
v = b[lo + 8]
osz, lsz, bsz = b[lo + 12] >> 4, b[lo + 12] & 15, b[lo + 13] >> 4
assert v in (0, 1) and bsz in (0, 4) and osz == 4
j = lo + 16
n_items = struct.unpack(">H", b[lo + 14:lo + 16])[0]
for _ in range(n_items):
    j += 2
    method = 0
    if v == 1:
        method = struct.unpack(">H", b[j:j + 2])[0] & 15
        j += 2
    j += 2
    base_at = j
    base = struct.unpack(">I", b[j:j + 4])[0] if bsz == 4 else 0
    j += bsz
    ext = struct.unpack(">H", b[j:j + 2])[0]
    j += 2
    if method == 0 and base >= m_off + m_size:
        struct.pack_into(">I", b, base_at, base + 10)
        base = -1  # extents are relative to a base already moved
    for _ in range(ext):
        off = struct.unpack(">I", b[j:j + 4])[0]
        if method == 0 and base >= 0 and base + off >= m_off + m_size:
            struct.pack_into(">I", b, j, off + 10)
        j += 4 + lsz
open(dst, "wb").write(b)
