package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/internal/attachment"
)

// withOrientation inserts an EXIF block holding only the orientation tag after a JPEG's
// start marker, as a phone writes it.
func withOrientation(t testing.TB, src []byte, o int) []byte {
	t.Helper()
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00*")
	for _, v := range []any{uint32(8), uint16(1), uint16(0x0112), uint16(3), uint32(1), uint16(o), uint16(0), uint32(0)} {
		if err := binary.Write(&tiff, binary.BigEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2)) //nolint:gosec // a few dozen bytes
	out := append([]byte{}, src[:2]...)
	out = append(append(out, seg...), payload...)
	return append(out, src[2:]...)
}

// quadrants is a 400×300 picture of four colours with a diagonal gradient, so any turn
// or mirror moves something.
func quadrants(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			c := color.RGBA{A: 255}
			switch {
			case x < 200 && y < 150:
				c.R, c.G, c.B = 20, 20, uint8(x/4) //nolint:gosec // < 256
			case y < 150:
				c.R, c.G, c.B = 230, 30, uint8(y/2) //nolint:gosec // < 256
			case x < 200:
				c.R, c.G, c.B = 30, 220, 40
			default:
				c.R, c.G, c.B = 240, 230, 30
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// meanDiff is the mean absolute difference per channel of two decoded JPEGs of one size.
func meanDiff(t *testing.T, a, b []byte) float64 {
	t.Helper()
	ia, err := jpeg.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("sizes differ: %v and %v", ia.Bounds(), ib.Bounds())
	}
	var sum, n float64
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

// TestFitJPEGMatchesLibvips holds the libjpeg-turbo path to libvips, the reference: for
// every EXIF orientation, and for 12 MP photos reduced to a preview and a thumbnail, both
// give the same size and the same picture. Both decode with the same libjpeg-turbo and
// reduce with a triangle filter, so the outputs are deterministic and differ by rounding:
// at most 0.5 levels out of 255 on average. Nearest-pixel reduction instead would differ
// by 0.8–2.4 levels, a wrong turn or mirror by 50 or more.
func TestFitJPEGMatchesLibvips(t *testing.T) {
	base := quadrants(t)
	type photo struct {
		name string
		src  []byte
		side int
	}
	var photos []photo
	for o := 1; o <= 8; o++ {
		photos = append(photos, photo{fmt.Sprintf("orientation %d", o), withOrientation(t, base, o), 160})
		photos = append(photos, photo{fmt.Sprintf("orientation %d, not reduced", o), withOrientation(t, base, o), 1600})
	}
	gray := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i % 640 * 255 / 640) //nolint:gosec // < 256
	}
	var grayJPEG bytes.Buffer
	if err := jpeg.Encode(&grayJPEG, gray, nil); err != nil {
		t.Fatal(err)
	}
	photos = append(photos, photo{"greyscale", grayJPEG.Bytes(), 320}, photo{"progressive", fixture(t, "progressive.jpg"), 200})
	photos = append(photos, photo{"12 MP grain", benchPhoto(t), 1600}, photo{"12 MP grain", benchPhoto(t), 320})
	if p := iphonePhoto(t); p != nil {
		photos = append(photos, photo{"12 MP phone photo, orientation 6", p, 1600}, photo{"12 MP phone photo, orientation 6", p, 320})
	}
	for _, p := range photos {
		t.Run(fmt.Sprintf("%s to %d", p.name, p.side), func(t *testing.T) {
			h, err := testImager.header(p.src)
			if err != nil {
				t.Fatal(err)
			}
			fast, ok, err := testImager.fitJPEG(p.src, h, p.side)
			if err != nil || !ok {
				t.Fatalf("fitJPEG: ok %v, %v", ok, err)
			}
			ref, err := testImager.resizeVips(p.src, h, p.side)
			if err != nil {
				t.Fatal(err)
			}
			if fast.Width != ref.Width || fast.Height != ref.Height {
				t.Fatalf("size %d×%d, libvips %d×%d", fast.Width, fast.Height, ref.Width, ref.Height)
			}
			if d := meanDiff(t, fast.Data, ref.Data); d > 0.75 {
				t.Errorf("mean difference from libvips %.2f levels, want ≤ 0.75", d)
			} else {
				t.Logf("%d×%d, mean difference from libvips %.2f levels", fast.Width, fast.Height, d)
			}
			assertNoMetadata(t, fast.Data)
		})
	}
}

// TestFitJPEGRefuses: what the libjpeg-turbo path cannot decode is undecodable, as with
// libvips; CMYK is left to libvips, which converts it.
func TestFitJPEGRefuses(t *testing.T) {
	good := quadrants(t)
	corrupt := append([]byte{}, good...)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] = 0xFF // markers where entropy-coded data should be
	}
	for _, tc := range []struct {
		name, src, why string
	}{
		{"truncated", string(fixture(t, "truncated.jpg")), ""},
		{"cut in half", string(good[:len(good)/2]), ""},
		{"corrupt data", string(corrupt), ""},
		{"66 scans", string(fixture(t, "manyscans.jpg")), "more than 64 scans"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(tc.src)
			h, err := testImager.header(src)
			if err != nil {
				t.Fatal(err)
			}
			_, ok, err := testImager.fitJPEG(src, h, 160)
			if !ok || !errors.Is(err, attachment.ErrUndecodable) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("ok %v, err %v; want ErrUndecodable %q", ok, err, tc.why)
			}
		})
	}
	cmyk := fixture(t, "cmyk.jpg")
	h, err := testImager.header(cmyk)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := testImager.fitJPEG(cmyk, h, 160); ok || err != nil {
		t.Fatalf("CMYK: ok %v, err %v; want it left to libvips", ok, err)
	}
}

// FuzzFitJPEG feeds the C path damaged and odd JPEGs: it must answer an error or a JPEG
// of the size it says, never crash or write out of bounds.
func FuzzFitJPEG(f *testing.F) {
	base := quadrants(f)
	f.Add(base, 160)
	f.Add(withOrientation(f, base, 7), 7)
	f.Add(base[:len(base)*2/3], 100)
	f.Add(fixture(f, "orient6.jpg"), 50)
	f.Add(fixture(f, "truncated.jpg"), 200)
	f.Fuzz(func(t *testing.T, src []byte, side int) {
		if side < 1 || side > 4000 {
			return
		}
		h, err := testImager.header(src)
		if err != nil || h.format != "jpeg" || h.width*h.height > 4_000_000 {
			return
		}
		d, ok, err := testImager.fitJPEG(src, h, side)
		if err != nil || !ok {
			return
		}
		img, err := jpeg.Decode(bytes.NewReader(d.Data))
		if err != nil {
			t.Fatalf("output is not a JPEG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != d.Width || b.Dy() != d.Height || max(d.Width, d.Height) > side {
			t.Fatalf("output %v, says %d×%d, side %d", b, d.Width, d.Height, side)
		}
	})
}
