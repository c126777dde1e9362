package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldops/fieldops/internal/attachment"
)

var testImager *Imager

func TestMain(m *testing.M) {
	var err error
	testImager, err = New(Options{})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The coordinates and time written into the fixtures by testdata/README.
const (
	fixtureLat = 52.520008
	fixtureLng = 13.404954
)

var fixtureTaken = time.Date(2024, 5, 17, 12, 23, 5, 0, time.UTC) // 14:23:05 at +02:00

func TestSniff(t *testing.T) {
	ftyp := func(major string, compat ...string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(16+4*len(compat)))
		b = append(b, "ftyp"+major+"\x00\x00\x00\x00"...)
		for _, c := range compat {
			b = append(b, c...)
		}
		return append(b, make([]byte, 16)...)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}, "jpeg"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "png"},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "webp"},
		{"riff but wave", []byte("RIFF\x00\x00\x00\x00WAVEfmt "), ""},
		{"heic", ftyp("heic", "mif1", "heic"), "heic"},
		{"heix", ftyp("heix", "mif1"), "heic"},
		{"mif1 with heic", ftyp("mif1", "heic"), "heic"},
		{"mif1 alone", ftyp("mif1", "mif1", "miaf"), "heic"},
		{"avif", ftyp("avif", "mif1", "miaf"), ""},
		{"mif1 with avif", ftyp("mif1", "avif", "miaf"), ""},
		{"mp4", ftyp("isom", "iso2", "mp41"), ""},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ""},
		{"text", []byte("hello, world"), ""},
		{"two bytes of jpeg", []byte{0xFF, 0xD8}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sniff(tt.in); got != tt.want {
				t.Errorf("sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	withExif := func(i attachment.ImageInfo) attachment.ImageInfo {
		taken := fixtureTaken
		i.TakenAt = &taken
		i.Location = &attachment.Location{Lat: fixtureLat, Lng: fixtureLng}
		i.CameraMake, i.CameraModel = "Google", "Pixel 8"
		return i
	}
	jpeg6 := withExif(attachment.ImageInfo{Format: "jpeg", ContentType: "image/jpeg", Width: 400, Height: 300, Orientation: 6})
	plain := func(format string) attachment.ImageInfo {
		return attachment.ImageInfo{Format: format, ContentType: "image/" + format, Width: 400, Height: 300, Orientation: 1}
	}
	orient6 := fixture(t, "orient6.jpg")
	tests := []struct {
		name    string
		head    []byte
		want    attachment.ImageInfo
		wantErr []error
	}{
		{name: "jpeg with EXIF", head: orient6, want: jpeg6},
		{name: "jpeg, first 1 KiB only", head: orient6[:1024], want: jpeg6},
		{name: "heic with EXIF orientation but no irot", head: fixture(t, "exif6.heic"),
			want: withExif(attachment.ImageInfo{Format: "heic", ContentType: "image/heic", Width: 400, Height: 300, Orientation: 1})},
		{name: "heic with irot 270 (iPhone portrait)", head: fixture(t, "irot270.heic"),
			want: withExif(attachment.ImageInfo{Format: "heic", ContentType: "image/heic", Width: 400, Height: 300, Orientation: 6})},
		{name: "heic, Exif item past the head", head: fixture(t, "irot270.heic")[:600],
			want: attachment.ImageInfo{Format: "heic", ContentType: "image/heic", Width: 400, Height: 300, Orientation: 6}},
		{name: "png screenshot", head: fixture(t, "screenshot.png"), want: plain("png")},
		{name: "png, first 64 bytes", head: fixture(t, "screenshot.png")[:64], want: plain("png")},
		{name: "webp lossy (VP8)", head: fixture(t, "vp8.webp"), want: plain("webp")},
		{name: "webp lossless (VP8L)", head: fixture(t, "vp8l.webp"), want: plain("webp")},
		{name: "webp extended with alpha (VP8X)", head: fixture(t, "vp8x_alpha.webp"), want: plain("webp")},
		// Probe sees the start of a file only: a cut-off body is found by Resize.
		{name: "truncated jpeg: header intact", head: fixture(t, "truncated.jpg"), want: jpeg6},
		{name: "jpeg cut before its frame header", head: orient6[:300], wantErr: []error{attachment.ErrUndecodable}},
		{name: "heic cut inside meta", head: fixture(t, "irot270.heic")[:200], wantErr: []error{attachment.ErrUndecodable}},
		{name: "pixel bomb png 50000x50000", head: fixture(t, "bomb.png"), wantErr: []error{ErrTooManyPixels, attachment.ErrTooManyPixels, attachment.ErrUndecodable}},
		{name: "text named .jpg", head: fixture(t, "notimage.jpg"), wantErr: []error{attachment.ErrUnsupportedFormat}},
		{name: "avif", head: fixture(t, "tiny.avif"), wantErr: []error{attachment.ErrUnsupportedFormat}},
		{name: "empty", head: nil, wantErr: []error{attachment.ErrUnsupportedFormat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testImager.Probe(tt.head)
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("err = %v, want %v", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			assertInfo(t, got, tt.want)
		})
	}
}

func assertInfo(t *testing.T, got, want attachment.ImageInfo) {
	t.Helper()
	if got.Format != want.Format || got.ContentType != want.ContentType || got.Width != want.Width ||
		got.Height != want.Height || got.Orientation != want.Orientation ||
		got.CameraMake != want.CameraMake || got.CameraModel != want.CameraModel {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	switch {
	case (got.TakenAt == nil) != (want.TakenAt == nil):
		t.Errorf("TakenAt = %v, want %v", got.TakenAt, want.TakenAt)
	case got.TakenAt != nil && (!got.TakenAt.Equal(*want.TakenAt) || got.TakenAt.Location() != time.UTC):
		t.Errorf("TakenAt = %v, want %v (UTC)", got.TakenAt, want.TakenAt)
	}
	switch {
	case (got.Location == nil) != (want.Location == nil):
		t.Errorf("Location = %+v, want %+v", got.Location, want.Location)
	case got.Location != nil && (math.Abs(got.Location.Lat-want.Location.Lat) > 1e-6 || math.Abs(got.Location.Lng-want.Location.Lng) > 1e-6):
		t.Errorf("Location = %+v, want %+v", *got.Location, *want.Location)
	}
}

// Corner colours of the fixtures' picture as stored: red grows to the right, green
// downwards.
var (
	black  = [3]int{0, 0, 0}
	red    = [3]int{255, 0, 0}
	green  = [3]int{0, 255, 0}
	yellow = [3]int{255, 255, 0}
)

func TestResize(t *testing.T) {
	upright := [4][3]int{black, red, green, yellow} // top-left, top-right, bottom-left, bottom-right
	turned := [4][3]int{green, black, yellow, red}  // turned 90° clockwise (orientation 6)
	// vp8x_alpha.webp is 78% opaque: flattened on white, not black.
	onWhite := [4][3]int{{55, 55, 55}, {255, 55, 55}, {55, 255, 55}, {255, 255, 55}}
	// cmyk.jpg went through print colours, where pure red and green do not exist.
	cmykGamut := [4][3]int{black, {237, 38, 41}, {190, 202, 32}, yellow}
	tests := []struct {
		name          string
		file          string
		maxSide       int
		wantW, wantH  int
		corners       *[4][3]int
		wantErr       []error
		wantErrString bool
	}{
		{name: "jpeg orientation 6 is turned", file: "orient6.jpg", maxSide: 200, wantW: 150, wantH: 200, corners: &turned},
		{name: "never enlarged", file: "orient6.jpg", maxSide: 1600, wantW: 300, wantH: 400, corners: &turned},
		{name: "heic irot is applied", file: "irot270.heic", maxSide: 200, wantW: 150, wantH: 200, corners: &turned},
		{name: "heic EXIF orientation is not applied", file: "exif6.heic", maxSide: 200, wantW: 200, wantH: 150, corners: &upright},
		{name: "cmyk jpeg becomes sRGB", file: "cmyk.jpg", maxSide: 200, wantW: 200, wantH: 150, corners: &cmykGamut},
		{name: "png", file: "screenshot.png", maxSide: 100, wantW: 100, wantH: 75, corners: &upright},
		{name: "webp lossy", file: "vp8.webp", maxSide: 320, wantW: 320, wantH: 240, corners: &upright},
		{name: "webp lossless", file: "vp8l.webp", maxSide: 320, wantW: 320, wantH: 240, corners: &upright},
		{name: "webp with alpha", file: "vp8x_alpha.webp", maxSide: 320, wantW: 320, wantH: 240, corners: &onWhite},
		{name: "truncated jpeg", file: "truncated.jpg", maxSide: 200, wantErr: []error{attachment.ErrUndecodable}},
		{name: "pixel bomb", file: "bomb.png", maxSide: 200, wantErr: []error{ErrTooManyPixels, attachment.ErrTooManyPixels, attachment.ErrUndecodable}},
		{name: "text named .jpg", file: "notimage.jpg", maxSide: 200, wantErr: []error{attachment.ErrUnsupportedFormat}},
		{name: "avif", file: "tiny.avif", maxSide: 200, wantErr: []error{attachment.ErrUnsupportedFormat}},
		{name: "zero maxSide", file: "orient6.jpg", maxSide: 0, wantErrString: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := testImager.Resize(fixture(t, tt.file), tt.maxSide)
			if tt.wantErr != nil || tt.wantErrString {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("err = %v, want %v", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resize: %v", err)
			}
			if got.Width != tt.wantW || got.Height != tt.wantH {
				t.Errorf("size %d×%d, want %d×%d", got.Width, got.Height, tt.wantW, tt.wantH)
			}
			img, err := jpeg.Decode(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatalf("output is not a JPEG: %v", err)
			}
			if _, ycc := img.(*image.YCbCr); !ycc {
				t.Errorf("JPEG decodes as %T, want colour (YCbCr) for phones", img)
			}
			if b := img.Bounds(); b.Dx() != got.Width || b.Dy() != got.Height {
				t.Errorf("JPEG is %v, Derived says %d×%d", b, got.Width, got.Height)
			}
			assertCorners(t, img, *tt.corners)
			assertNoMetadata(t, got.Data)
		})
	}
}

func assertCorners(t *testing.T, img image.Image, want [4][3]int) {
	t.Helper()
	b := img.Bounds()
	at := [4]image.Point{{b.Min.X + 2, b.Min.Y + 2}, {b.Max.X - 3, b.Min.Y + 2}, {b.Min.X + 2, b.Max.Y - 3}, {b.Max.X - 3, b.Max.Y - 3}}
	for i, p := range at {
		r, g, bl, _ := img.At(p.X, p.Y).RGBA()
		got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
		for c := range 3 {
			if math.Abs(float64(got[c]-want[i][c])) > 40 {
				t.Errorf("corner %d at %v is %v, want about %v", i, p, got, want[i])
				break
			}
		}
	}
}

// assertNoMetadata checks that a derivative carries no metadata: Probe finds no EXIF,
// and the JPEG has no APPn segment but the JFIF one (no Exif/GPS, XMP, ICC, IPTC) and
// no comment.
func assertNoMetadata(t *testing.T, b []byte) {
	t.Helper()
	info, err := testImager.Probe(b)
	if err != nil {
		t.Fatalf("Probe(derivative): %v", err)
	}
	if info.Orientation != 1 || info.TakenAt != nil || info.Location != nil || info.CameraMake != "" || info.CameraModel != "" {
		t.Errorf("derivative has metadata: %+v", info)
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		if m == 0xDA {
			break
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		seg := b[i+4 : i+2+n]
		if (m >= 0xE1 && m <= 0xEF) || m == 0xFE || (m == 0xE0 && !bytes.HasPrefix(seg, []byte("JFIF\x00"))) {
			t.Errorf("derivative has segment FF%02X %q", m, seg[:min(len(seg), 16)])
		}
		i += 2 + n
	}
	for _, s := range []string{"Exif", "GPS", "Google", "Pixel 8", "http://ns.adobe.com", "ICC_PROFILE"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("derivative contains %q", s)
		}
	}
}

func TestOptions(t *testing.T) {
	small, err := New(Options{MaxPixels: 400 * 300})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Probe(fixture(t, "orient6.jpg")); err != nil {
		t.Errorf("exactly MaxPixels: %v", err)
	}
	if _, err := small.Probe(fixture(t, "orient6.jpg")); err != nil {
		t.Errorf("exactly MaxPixels: %v", err)
	}
	smaller, err := New(Options{MaxPixels: 400*300 - 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smaller.Resize(fixture(t, "orient6.jpg"), 100); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("one pixel over: err = %v", err)
	}
	for _, o := range []Options{{JPEGQuality: 101}, {MaxPixels: -1}, {MaxJobs: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}

func TestTakenAt(t *testing.T) {
	gps := time.Date(2024, 5, 17, 12, 23, 7, 0, time.UTC)
	tests := []struct {
		name               string
		dt, offset, subsec string
		gps                *time.Time
		want               *time.Time
	}{
		{name: "offset", dt: "2024:05:17 14:23:05", offset: "+02:00", want: &fixtureTaken},
		{name: "negative offset and subseconds", dt: "2024:05:17 07:23:05", offset: "-05:00", subsec: "25",
			want: ptr(time.Date(2024, 5, 17, 12, 23, 5, 250_000_000, time.UTC))},
		{name: "no offset: GPS time", dt: "2024:05:17 14:23:05", gps: &gps, want: &gps},
		{name: "no offset, no GPS: wall clock as UTC", dt: "2024:05:17 14:23:05",
			want: ptr(time.Date(2024, 5, 17, 14, 23, 5, 0, time.UTC))},
		{name: "zero date", dt: "0000:00:00 00:00:00", offset: "+02:00"},
		{name: "garbage", dt: "yesterday", offset: "+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := takenAt(tt.dt, tt.offset, tt.subsec, tt.gps)
			if (got == nil) != (tt.want == nil) || (got != nil && !got.Equal(*tt.want)) {
				t.Errorf("takenAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzProbe: Probe reads untrusted bytes; it must never panic.
func FuzzProbe(f *testing.F) {
	for _, name := range []string{"orient6.jpg", "exif6.heic", "irot270.heic", "screenshot.png", "vp8.webp", "vp8l.webp", "vp8x_alpha.webp", "bomb.png"} {
		b := fixture(f, name)
		f.Add(b[:min(len(b), 4096)])
	}
	im, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := im.Probe(b)
		if err == nil && (info.Width <= 0 || info.Height <= 0 || info.Orientation < 1 || info.Orientation > 8) {
			t.Errorf("Probe accepted %+v", info)
		}
	})
}
