package imaging

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// exifInfo is the evidence Probe keeps from EXIF. Reading is best effort: a field that is
// absent, out of range or cut off by the end of the bytes is left empty, and a broken
// EXIF block never makes a photo unusable.
type exifInfo struct {
	orientation int // 0 when absent
	takenAt     *time.Time
	lat, lng    float64
	hasGPS      bool
	make, model string
}

// EXIF tags read (CIPA DC-008).
const (
	tagMake               = 0x010F
	tagModel              = 0x0110
	tagOrientation        = 0x0112
	tagExifIFD            = 0x8769
	tagGPSIFD             = 0x8825
	tagDateTimeOriginal   = 0x9003
	tagOffsetTimeOriginal = 0x9011
	tagSubSecTimeOriginal = 0x9291
	tagGPSLatitudeRef     = 0x0001
	tagGPSLatitude        = 0x0002
	tagGPSLongitudeRef    = 0x0003
	tagGPSLongitude       = 0x0004
	tagGPSTimeStamp       = 0x0007
	tagGPSDateStamp       = 0x001D
)

const maxIFDEntries = 512

func trimExifPrefix(b []byte) []byte { return bytes.TrimPrefix(b, []byte("Exif\x00\x00")) }

// tiff is a TIFF-structured EXIF block.
type tiff struct {
	b     []byte
	order binary.ByteOrder
}

// entry is one IFD field; value holds the bytes of its value (nil when out of bounds).
type entry struct {
	typ   uint16
	count uint32
	value []byte
}

// ifd reads the IFD at off into a map of tag → entry.
func (t tiff) ifd(off uint32) map[uint16]entry {
	b := t.b
	if uint64(off)+2 > uint64(len(b)) {
		return nil
	}
	n := int(t.order.Uint16(b[off:]))
	if n > maxIFDEntries {
		return nil
	}
	out := make(map[uint16]entry, n)
	for i := range n {
		p := uint64(off) + 2 + uint64(i)*12
		if p+12 > uint64(len(b)) {
			break
		}
		e := b[p : p+12]
		tag, typ, count := t.order.Uint16(e), t.order.Uint16(e[2:]), t.order.Uint32(e[4:])
		size := typeSize(typ) * uint64(count)
		var v []byte
		switch {
		case size == 0:
		case size <= 4:
			v = e[8 : 8+size]
		default:
			vo := uint64(t.order.Uint32(e[8:]))
			if vo+size <= uint64(len(b)) {
				v = b[vo : vo+size]
			}
		}
		out[tag] = entry{typ: typ, count: count, value: v}
	}
	return out
}

func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9: // LONG, SLONG
		return 4
	case 5, 10: // RATIONAL, SRATIONAL
		return 8
	}
	return 0
}

func (t tiff) uint(e entry) (uint32, bool) {
	switch {
	case e.typ == 3 && len(e.value) >= 2:
		return uint32(t.order.Uint16(e.value)), true
	case e.typ == 4 && len(e.value) >= 4:
		return t.order.Uint32(e.value), true
	}
	return 0, false
}

func (t tiff) str(e entry) string {
	if e.typ != 2 && e.typ != 7 {
		return ""
	}
	s := string(e.value)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 128 {
		s = s[:128]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

// rationals reads n unsigned rationals; ok is false when one is missing or has a zero
// denominator.
func (t tiff) rationals(e entry, n int) ([]float64, bool) {
	if e.typ != 5 || len(e.value) < 8*n {
		return nil, false
	}
	out := make([]float64, n)
	for i := range n {
		num, den := t.order.Uint32(e.value[8*i:]), t.order.Uint32(e.value[8*i+4:])
		if den == 0 {
			return nil, false
		}
		out[i] = float64(num) / float64(den)
	}
	return out, true
}

// readExif reads the fields Probe reports from a TIFF-structured EXIF block.
func readExif(b []byte) exifInfo {
	var info exifInfo
	if len(b) < 8 {
		return info
	}
	t := tiff{b: b}
	switch string(b[:4]) {
	case "II*\x00":
		t.order = binary.LittleEndian
	case "MM\x00*":
		t.order = binary.BigEndian
	default:
		return info
	}
	ifd0 := t.ifd(t.order.Uint32(b[4:]))
	if v, ok := t.uint(ifd0[tagOrientation]); ok && v >= 1 && v <= 8 {
		info.orientation = int(v)
	}
	info.make = t.str(ifd0[tagMake])
	info.model = t.str(ifd0[tagModel])

	var gpsTime *time.Time
	if off, ok := t.uint(ifd0[tagGPSIFD]); ok {
		gps := t.ifd(off)
		lat, okLat := t.degrees(gps[tagGPSLatitude], gps[tagGPSLatitudeRef], "S")
		lng, okLng := t.degrees(gps[tagGPSLongitude], gps[tagGPSLongitudeRef], "W")
		if okLat && okLng && math.Abs(lat) <= 90 && math.Abs(lng) <= 180 && (lat != 0 || lng != 0) {
			info.lat, info.lng, info.hasGPS = lat, lng, true
		}
		gpsTime = t.gpsTime(gps)
	}
	if off, ok := t.uint(ifd0[tagExifIFD]); ok {
		ex := t.ifd(off)
		info.takenAt = takenAt(t.str(ex[tagDateTimeOriginal]), t.str(ex[tagOffsetTimeOriginal]), t.str(ex[tagSubSecTimeOriginal]), gpsTime)
	}
	return info
}

func (t tiff) degrees(v, ref entry, negative string) (float64, bool) {
	dms, ok := t.rationals(v, 3)
	if !ok {
		return 0, false
	}
	d := dms[0] + dms[1]/60 + dms[2]/3600
	if strings.EqualFold(t.str(ref), negative) {
		d = -d
	}
	return d, !math.IsNaN(d) && !math.IsInf(d, 0)
}

// gpsTime is the UTC time of the GPS fix (GPSDateStamp + GPSTimeStamp), nil when absent.
func (t tiff) gpsTime(gps map[uint16]entry) *time.Time {
	d, err := time.Parse("2006:01:02", t.str(gps[tagGPSDateStamp]))
	if err != nil {
		return nil
	}
	hms, ok := t.rationals(gps[tagGPSTimeStamp], 3)
	if !ok || hms[0] >= 24 || hms[1] >= 60 || hms[2] >= 61 {
		return nil
	}
	secs := hms[0]*3600 + hms[1]*60 + hms[2]
	v := d.Add(time.Duration(secs * float64(time.Second))).UTC()
	return &v
}

// takenAt turns DateTimeOriginal (a wall-clock time) into a UTC instant: with
// OffsetTimeOriginal when present; otherwise the GPS fix time when the photo has one (it
// is UTC and taken with the photo); otherwise the wall-clock time read as UTC, which is
// all the file says.
func takenAt(dt, offset, subsec string, gps *time.Time) *time.Time {
	local, err := time.Parse("2006:01:02 15:04:05", dt)
	if err != nil || local.Year() < 1970 {
		return gps
	}
	if len(subsec) > 0 && len(subsec) <= 9 && strings.Trim(subsec, "0123456789") == "" {
		ns := 0
		for i := range 9 {
			ns *= 10
			if i < len(subsec) {
				ns += int(subsec[i] - '0')
			}
		}
		local = local.Add(time.Duration(ns))
	}
	if zone, err := time.Parse("Z07:00", offset); err == nil {
		_, secs := zone.Zone()
		v := local.Add(-time.Duration(secs) * time.Second).UTC()
		return &v
	}
	if gps != nil {
		return gps
	}
	return &local
}
