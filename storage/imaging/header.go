package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/fieldops/fieldops/internal/attachment"
)

// header is what the container says about an image before any pixel is decoded.
type header struct {
	format      string // jpeg, png, webp, heic
	contentType string
	width       int
	height      int
	// orientation is set by formats that carry it outside EXIF (HEIF irot/imir); 0 otherwise.
	orientation int
	// exif is the TIFF-structured EXIF block ("II*\0…" or "MM\0*…"), nil when absent or
	// not within the bytes given.
	exif []byte
}

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// sniff names the format from the magic bytes; "" when it is none of the accepted ones.
// AVIF (and any other ISO-BMFF brand outside the HEIC family) is not accepted.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, jpegMagic):
		return "jpeg"
	case bytes.HasPrefix(b, pngMagic):
		return "png"
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case isHEIC(b):
		return "heic"
	}
	return ""
}

// heicBrands are the ftyp brands of HEIF files with HEVC-coded images (iPhone photos are
// "heic" with "mif1"/"miaf"/"MiHE" compatible brands).
var heicBrands = map[string]bool{"heic": true, "heix": true, "hevc": true, "hevx": true, "heim": true, "heis": true, "mif1": true}

// isHEIC reports whether b starts with an ISO-BMFF ftyp box naming a HEIC brand. A file
// whose major brand is AVIF, or that lists an AVIF brand and no HEVC one, is refused:
// the generic "mif1" brand alone does not say which codec is inside.
func isHEIC(b []byte) bool {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return false
	}
	size := int(binary.BigEndian.Uint32(b))
	if size < 16 || size > len(b) || size > 4096 {
		return false
	}
	major := string(b[8:12])
	if major == "avif" || major == "avis" {
		return false
	}
	accepted, hevc, av1 := heicBrands[major], major != "mif1" && heicBrands[major], false
	for off := 16; off+4 <= size; off += 4 {
		switch br := string(b[off : off+4]); {
		case br == "avif" || br == "avis":
			av1 = true
		case br == "mif1":
			accepted = true
		case heicBrands[br]:
			accepted, hevc = true, true
		}
	}
	return accepted && (hevc || !av1)
}

var contentTypes = map[string]string{
	"jpeg": "image/jpeg",
	"png":  "image/png",
	"webp": "image/webp",
	"heic": "image/heic",
}

// readHeader sniffs b and reads the pixel size (and EXIF block where the format has one)
// from the header, without decoding pixels. b may be only the start of a file.
func readHeader(b []byte) (header, error) {
	format := sniff(b)
	var (
		h   header
		err error
	)
	switch format {
	case "jpeg":
		h, err = jpegHeader(b)
	case "png":
		h, err = pngHeader(b)
	case "webp":
		h, err = webpHeader(b)
	case "heic":
		h, err = heifHeader(b)
	default:
		return header{}, attachment.ErrUnsupportedFormat
	}
	if err != nil {
		return header{}, fmt.Errorf("%w: %s: %w", attachment.ErrUndecodable, format, err)
	}
	if h.width <= 0 || h.height <= 0 {
		return header{}, fmt.Errorf("%w: %s: zero width or height", attachment.ErrUndecodable, format)
	}
	h.format, h.contentType = format, contentTypes[format]
	return h, nil
}

var errShort = fmt.Errorf("header not within the bytes read")

// jpegHeader walks the JPEG markers up to the first SOFn frame header, noting the
// APP1 Exif segment on the way.
func jpegHeader(b []byte) (header, error) {
	var h header
	i := 2
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			return h, errShort
		}
		if b[i-1] != 0xFF {
			return h, fmt.Errorf("no marker at offset %d", i)
		}
		m := b[i]
		i++
		switch {
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // TEM, RSTn: no length
			continue
		case m == 0xD9 || m == 0xDA: // EOI, SOS before any frame header
			return h, fmt.Errorf("no frame header before the scan")
		}
		if i+2 > len(b) {
			return h, errShort
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 {
			return h, fmt.Errorf("bad segment length")
		}
		seg := b[i+2 : min(i+n, len(b))] // may be cut short by the end of b
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 5 {
				return h, errShort
			}
			h.height = int(binary.BigEndian.Uint16(seg[1:]))
			h.width = int(binary.BigEndian.Uint16(seg[3:]))
			return h, nil
		case m == 0xE1 && h.exif == nil && len(seg) == n-2 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			h.exif = seg[6:]
		}
		i += n
	}
}

// pngHeader reads IHDR (always the first chunk) and an eXIf chunk met before IDAT.
func pngHeader(b []byte) (header, error) {
	var h header
	if len(b) < 8+8+13 || string(b[12:16]) != "IHDR" {
		return h, errShort
	}
	w, ht := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
	if w > 1<<31-1 || ht > 1<<31-1 {
		return h, fmt.Errorf("size out of range")
	}
	h.width, h.height = int(w), int(ht)
	for off := 8; off+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if typ == "IDAT" || typ == "IEND" || n < 0 || off+12+n > len(b) {
			break
		}
		if typ == "eXIf" {
			h.exif = b[off+8 : off+8+n]
			break
		}
		off += 12 + n
	}
	return h, nil
}

// webpHeader reads the first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended,
// whose canvas size counts and which may carry an EXIF chunk).
func webpHeader(b []byte) (header, error) {
	var h header
	if len(b) < 30 {
		return h, errShort
	}
	chunk := b[20:]
	switch string(b[12:16]) {
	case "VP8 ":
		// frame tag (3 bytes), start code 9D 01 2A, 14-bit width and height.
		if chunk[3] != 0x9D || chunk[4] != 0x01 || chunk[5] != 0x2A {
			return h, fmt.Errorf("bad VP8 start code")
		}
		h.width = int(binary.LittleEndian.Uint16(chunk[6:]) & 0x3FFF)
		h.height = int(binary.LittleEndian.Uint16(chunk[8:]) & 0x3FFF)
	case "VP8L":
		if chunk[0] != 0x2F {
			return h, fmt.Errorf("bad VP8L signature")
		}
		v := binary.LittleEndian.Uint32(chunk[1:])
		h.width = int(v&0x3FFF) + 1
		h.height = int(v>>14&0x3FFF) + 1
	case "VP8X":
		h.width = int(uint32(chunk[4])|uint32(chunk[5])<<8|uint32(chunk[6])<<16) + 1
		h.height = int(uint32(chunk[7])|uint32(chunk[8])<<8|uint32(chunk[9])<<16) + 1
		if chunk[0]&0x08 != 0 { // EXIF flag: look for the chunk
			h.exif = webpExif(b)
		}
	default:
		return h, fmt.Errorf("unknown first chunk %q", b[12:16])
	}
	return h, nil
}

func webpExif(b []byte) []byte {
	for off := 12; off+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if n < 0 || off+8+n > len(b) {
			return nil
		}
		if string(b[off:off+4]) == "EXIF" {
			return bytes.TrimPrefix(b[off+8:off+8+n], []byte("Exif\x00\x00"))
		}
		off += 8 + n + n&1
	}
	return nil
}
