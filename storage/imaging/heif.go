package imaging

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal reader of the HEIF (ISO/IEC 23008-12) meta box: the primary item, its
// properties (ispe size, irot/imir transforms) and the location of the Exif item.
// Only what Probe needs; pixels are left to libheif.

type bmffBox struct {
	typ  string
	body []byte // the box content after the header (cut short when b ends early)
	full bool   // body holds the whole box
}

// boxes splits b into boxes. A box that runs past the end of b is returned cut short
// and ends the list.
func boxes(b []byte) ([]bmffBox, error) {
	var out []bmffBox
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 1:
			if len(b) < 16 {
				return out, errShort
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		case 0: // to the end of the file
			size = uint64(len(b))
		}
		if size < hdr {
			return out, fmt.Errorf("box %q: bad size", typ)
		}
		if size > uint64(len(b)) {
			out = append(out, bmffBox{typ: typ, body: b[hdr:]})
			return out, nil
		}
		out = append(out, bmffBox{typ: typ, body: b[hdr:size], full: true})
		b = b[size:]
	}
	return out, nil
}

// reader reads big-endian fields and remembers the first overrun.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// uN reads an unsigned field of n bytes (0, 4 or 8 in iloc).
func (r *reader) uN(n int) uint64 {
	switch n {
	case 0:
		return 0
	case 4:
		return uint64(r.u32())
	case 8:
		v := r.take(8)
		if v == nil {
			return 0
		}
		return binary.BigEndian.Uint64(v)
	}
	r.bad = true
	return 0
}

type ilocExtent struct{ offset, length uint64 }

type ilocItem struct {
	method  int // 0 file offsets, 1 offsets into idat
	extents []ilocExtent
}

type heifProps struct {
	width, height int
	orientation   int
}

var errNoPrimary = errors.New("no primary image")

func heifHeader(b []byte) (header, error) {
	var h header
	top, err := boxes(b)
	if err != nil {
		return h, err
	}
	var meta *bmffBox
	for i := range top {
		if top[i].typ == "meta" {
			meta = &top[i]
			break
		}
	}
	if meta == nil {
		return h, errShort
	}
	if !meta.full {
		return h, errShort
	}
	if len(meta.body) < 4 {
		return h, errShort
	}
	children, err := boxes(meta.body[4:]) // meta is a full box: version and flags first
	if err != nil {
		return h, err
	}
	var (
		primary   uint32
		hasPitm   bool
		itemTypes = map[uint32]string{}
		locs      map[uint32]ilocItem
		props     []bmffBox
		assoc     map[uint32][]int
		idat      []byte
	)
	for _, c := range children {
		switch c.typ {
		case "pitm":
			r := reader{b: c.body}
			if r.u8() == 0 {
				r.take(3)
				primary = uint32(r.u16())
			} else {
				r.take(3)
				primary = r.u32()
			}
			hasPitm = !r.bad
		case "iinf":
			readIinf(c.body, itemTypes)
		case "iloc":
			locs = readIloc(c.body)
		case "iprp":
			props, assoc = readIprp(c.body)
		case "idat":
			idat = c.body
		}
	}
	if !hasPitm {
		return h, errNoPrimary
	}
	switch t := itemTypes[primary]; t {
	case "hvc1", "grid", "iden", "iovl":
	case "":
		return h, errNoPrimary
	default:
		return h, fmt.Errorf("primary item is %q, not HEVC", t)
	}
	p := primaryProps(props, assoc[primary])
	h.width, h.height, h.orientation = p.width, p.height, p.orientation

	// The Exif item: 4 bytes giving the offset of the TIFF header, then EXIF.
	for id, t := range itemTypes {
		if t != "Exif" {
			continue
		}
		loc, ok := locs[id]
		if !ok || len(loc.extents) != 1 {
			break
		}
		src := b
		if loc.method == 1 {
			src = idat
		} else if loc.method != 0 {
			break
		}
		e := loc.extents[0]
		if e.length < 4 || e.offset >= uint64(len(src)) || e.length > uint64(len(src))-e.offset {
			break // not within the bytes given
		}
		data := src[e.offset : e.offset+e.length]
		// len(data) >= 4 (e.length >= 4), so the subtraction cannot go below zero.
		if skip := int64(binary.BigEndian.Uint32(data)); skip <= int64(len(data))-4 {
			h.exif = trimExifPrefix(data[4+skip:])
		}
		break
	}
	return h, nil
}

func readIinf(body []byte, types map[uint32]string) {
	r := reader{b: body}
	version := r.u8()
	r.take(3)
	if version == 0 {
		r.u16()
	} else {
		r.u32()
	}
	if r.bad {
		return
	}
	infes, _ := boxes(r.b)
	for _, e := range infes {
		if e.typ != "infe" || !e.full {
			continue
		}
		er := reader{b: e.body}
		v := er.u8()
		er.take(3)
		var id uint32
		switch v {
		case 2:
			id = uint32(er.u16())
		case 3:
			id = er.u32()
		default:
			continue
		}
		er.u16() // protection index
		typ := er.take(4)
		if !er.bad {
			types[id] = string(typ)
		}
	}
}

func readIloc(body []byte) map[uint32]ilocItem {
	r := reader{b: body}
	version := r.u8()
	r.take(3)
	sizes := r.u8()
	offsetSize, lengthSize := int(sizes>>4), int(sizes&15)
	sizes = r.u8()
	baseSize, indexSize := int(sizes>>4), 0
	if version == 1 || version == 2 {
		indexSize = int(sizes & 15)
	}
	var count uint32
	if version < 2 {
		count = uint32(r.u16())
	} else {
		count = r.u32()
	}
	out := map[uint32]ilocItem{}
	for i := uint32(0); i < count && !r.bad; i++ {
		var id uint32
		if version < 2 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		var it ilocItem
		if version == 1 || version == 2 {
			it.method = int(r.u16() & 15)
		}
		r.u16() // data reference index
		base := r.uN(baseSize)
		n := int(r.u16())
		if per := indexSize + offsetSize + lengthSize; per == 0 || n*per > len(r.b) {
			r.bad = true // extents that take no bytes, or more than there are
		}
		for j := 0; j < n && !r.bad; j++ {
			r.uN(indexSize)
			off := r.uN(offsetSize)
			length := r.uN(lengthSize)
			it.extents = append(it.extents, ilocExtent{offset: base + off, length: length})
		}
		if !r.bad {
			out[id] = it
		}
	}
	return out
}

// readIprp returns the property boxes of ipco (index 1 is the first) and, for each
// item, the indexes of its properties in ipma order.
func readIprp(body []byte) ([]bmffBox, map[uint32][]int) {
	var props []bmffBox
	assoc := map[uint32][]int{}
	children, _ := boxes(body)
	for _, c := range children {
		switch c.typ {
		case "ipco":
			props, _ = boxes(c.body)
		case "ipma":
			r := reader{b: c.body}
			version := r.u8()
			flags := r.take(3)
			wide := len(flags) == 3 && flags[2]&1 != 0
			n := r.u32()
			for i := uint32(0); i < n && !r.bad; i++ {
				var id uint32
				if version < 1 {
					id = uint32(r.u16())
				} else {
					id = r.u32()
				}
				k := int(r.u8())
				for j := 0; j < k && !r.bad; j++ {
					var idx int
					if wide {
						idx = int(r.u16() & 0x7FFF)
					} else {
						idx = int(r.u8() & 0x7F)
					}
					assoc[id] = append(assoc[id], idx)
				}
			}
		}
	}
	return props, assoc
}

// primaryProps reads ispe, irot and imir among the item's properties. The transforms
// are applied in association order, as decoders do, and folded into one EXIF
// orientation value.
func primaryProps(props []bmffBox, idx []int) heifProps {
	var p heifProps
	var t transform
	for _, i := range idx {
		if i < 1 || i > len(props) {
			continue
		}
		pb := props[i-1]
		switch pb.typ {
		case "ispe":
			r := reader{b: pb.body}
			r.take(4)
			w, h := r.u32(), r.u32()
			if !r.bad && w <= 1<<31-1 && h <= 1<<31-1 {
				p.width, p.height = int(w), int(h)
			}
		case "irot":
			if len(pb.body) >= 1 {
				t = t.rotateCW((4 - int(pb.body[0]&3)) % 4) // irot turns anticlockwise
			}
		case "imir":
			if len(pb.body) >= 1 {
				t = t.flipH()
				if pb.body[0]&1 == 1 { // mirror about a horizontal axis: upside down
					t = t.rotateCW(2)
				}
			}
		}
	}
	p.orientation = t.exif()
	return p
}

// transform is an element of the 8 orientations: a horizontal flip (when flip) followed
// by rot quarter turns clockwise.
type transform struct {
	rot  int
	flip bool
}

func (t transform) rotateCW(k int) transform { return transform{rot: (t.rot + k) % 4, flip: t.flip} }

func (t transform) flipH() transform { return transform{rot: (4 - t.rot) % 4, flip: !t.flip} }

// exif is the EXIF orientation tag value that asks for the same transform.
func (t transform) exif() int {
	if t.flip {
		return [4]int{2, 7, 4, 5}[t.rot]
	}
	return [4]int{1, 6, 3, 8}[t.rot]
}
