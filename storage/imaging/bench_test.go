package imaging

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/davidbyttow/govips/v2/vips"
	"golang.org/x/image/draw"

	"github.com/fieldops/fieldops/internal/attachment"
)

// The benchmark photo: 4032×3024 (12 MP, a phone's main camera), JPEG q=90, made at run
// time (not committed): smooth gradients with grain, about as costly to decode as a
// photo and about as large (see photoSize in the benchmark output).
var (
	photoOnce sync.Once
	photoJPEG []byte
	photoErr  error
	heicOnce  sync.Once
	photoHEIC []byte
)

func benchPhoto(tb testing.TB) []byte {
	tb.Helper()
	photoOnce.Do(func() {
		const w, h = 4032, 3024
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		rng := rand.New(rand.NewPCG(1, 2))
		for y := range h {
			for x := range w {
				n := rng.IntN(24) - 12
				i := img.PixOffset(x, y)
				img.Pix[i] = clamp(x*255/w + n)
				img.Pix[i+1] = clamp(y*255/h + n)
				img.Pix[i+2] = clamp((x+y)*255/(w+h) + n/2)
				img.Pix[i+3] = 255
			}
		}
		var buf bytes.Buffer
		if photoErr = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); photoErr != nil {
			return
		}
		photoJPEG = buf.Bytes()
	})
	if photoErr != nil {
		tb.Fatal(photoErr)
	}
	return photoJPEG
}

// benchHEIC is the same photo as HEIC, as an iPhone would send it (libheif with x265;
// nil when this libheif cannot encode). Encoding takes seconds, so only what needs it
// makes it.
func benchHEIC(tb testing.TB) []byte {
	tb.Helper()
	photo := benchPhoto(tb)
	heicOnce.Do(func() {
		ref, err := vips.NewImageFromBuffer(photo)
		if err != nil {
			tb.Logf("HEIC: %v", err)
			return
		}
		defer ref.Close()
		p := vips.NewHeifExportParams()
		p.Quality = 50
		if heic, _, err := ref.ExportHeif(p); err == nil {
			photoHEIC = heic
		}
	})
	return photoHEIC
}

// iphonePhoto reads jpg-orientation-6.jpg from the govips module's resources (nil, with
// a log line, when the module's files are not there).
func iphonePhoto(tb testing.TB) []byte {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/davidbyttow/govips/v2").Output()
	if err != nil {
		tb.Logf("govips module not found: %v", err)
		return nil
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "resources", "jpg-orientation-6.jpg"))
	if err != nil {
		tb.Logf("iPhone photo not found: %v", err)
		return nil
	}
	return b
}

func clamp(v int) uint8 { return uint8(min(max(v, 0), 255)) } //nolint:gosec // clamped to 0–255

func BenchmarkResize(b *testing.B) {
	photo := benchPhoto(b)
	b.Logf("photo: 4032×3024 JPEG %.1f MB", float64(len(photo))/1e6)
	// Resize takes JPEGs through libjpeg-turbo alone (fitJPEG); viaVips is the libvips
	// pipeline they took before, measured beside it.
	// One derivative job: the preview, then the thumbnail made from the preview (one
	// decode of the photo), as the attachment service does.
	job := func(src []byte, resize func([]byte, int) (attachment.Derived, error)) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				preview, err := resize(src, 1600)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := resize(preview.Data, 320); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for _, side := range []int{320, 1600} {
		b.Run(fmt.Sprintf("libjpeg/jpeg/%d", side), func(b *testing.B) {
			for b.Loop() {
				if _, err := testImager.Resize(photo, side); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("libjpeg/jpeg/1600-then-320", job(photo, testImager.Resize))
	b.Run("vips/jpeg/1600-then-320", job(photo, viaVips))
	// A real 12 MP phone photo (4032×3024, 3.0 MB, EXIF orientation 6) from govips' own
	// test resources, which are in the module cache wherever this builds.
	if phonePhoto := iphonePhoto(b); phonePhoto != nil {
		b.Run("libjpeg/iphone/1600-then-320", job(phonePhoto, testImager.Resize))
		b.Run("vips/iphone/1600-then-320", job(phonePhoto, viaVips))
	}
	b.Run("vips/heic/1600", func(b *testing.B) {
		heic := benchHEIC(b)
		if heic == nil {
			b.Skip("this libheif cannot encode HEIC")
		}
		b.Logf("photo: 4032×3024 HEIC %.1f MB", float64(len(heic))/1e6)
		for b.Loop() {
			if _, err := testImager.Resize(heic, 1600); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []struct {
		name   string
		kernel draw.Interpolator
	}{{"ApproxBiLinear", draw.ApproxBiLinear}, {"CatmullRom", draw.CatmullRom}} {
		for _, side := range []int{320, 1600} {
			b.Run(fmt.Sprintf("purego-%s/jpeg/%d", k.name, side), func(b *testing.B) {
				for b.Loop() {
					if _, err := pureGoResize(photo, side, k.kernel); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// viaVips is Resize through the libvips pipeline for every format, JPEG included: what
// JPEGs took before fitJPEG, for comparison.
func viaVips(src []byte, side int) (attachment.Derived, error) {
	h, err := testImager.header(src)
	if err != nil {
		return attachment.Derived{}, err
	}
	return testImager.resizeVips(src, h, side)
}

// pureGoResize is the pure-Go way, for comparison only: image/jpeg decodes every pixel,
// x/image/draw scales, image/jpeg encodes (no orientation handling).
func pureGoResize(src []byte, maxSide int, kernel draw.Interpolator) ([]byte, error) {
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w >= h {
		w, h = maxSide, h*maxSide/w
	} else {
		w, h = w*maxSide/h, maxSide
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	kernel.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var out bytes.Buffer
	err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: DefaultJPEGQuality})
	return out.Bytes(), err
}

// TestPeakRSS measures the memory of one derivative job outside the Go heap too (libvips
// allocates in C), and its CPU time (which, unlike wall time, does not grow when other
// processes share the cores): each case runs in a fresh child process that loads the
// photo, starts libvips, resets the peak RSS (/proc/self/clear_refs), runs the job
// rssRuns times and reports VmHWM and the process's user+system CPU time per job.
// Opt-in: FIELDOPS_IMAGING_RSS=1 go test -run TestPeakRSS -v ./storage/imaging/
func TestPeakRSS(t *testing.T) {
	if mode := os.Getenv("FIELDOPS_IMAGING_RSS_CHILD"); mode != "" {
		rssChild(t, mode)
		return
	}
	if os.Getenv("FIELDOPS_IMAGING_RSS") != "1" {
		t.Skip("set FIELDOPS_IMAGING_RSS=1 to measure")
	}
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		t.Skip("needs Linux /proc")
	}
	benchHEIC(t)
	dir := t.TempDir()
	for name, data := range map[string][]byte{"photo.jpg": photoJPEG, "photo.heic": photoHEIC} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	modes := []string{"libjpeg-jpeg-320", "libjpeg-jpeg-1600", "libjpeg-jpeg-job", "vips-jpeg-1600", "vips-jpeg-job", "vips-heic-1600", "purego-jpeg-1600"}
	t.Logf("%-20s %12s %12s %12s %12s", "job", "base RSS MB", "peak RSS MB", "job MB", "CPU ms/job")
	for _, mode := range modes {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$", "-test.v") //nolint:gosec // the test binary itself
		cmd.Env = append(os.Environ(), "FIELDOPS_IMAGING_RSS_CHILD="+mode, "FIELDOPS_IMAGING_RSS_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		var base, peak int
		var cpu float64
		for line := range strings.SplitSeq(string(out), "\n") {
			if after, ok := strings.CutPrefix(line, "RSS "); ok {
				if _, err := fmt.Sscanf(after, "%d %d %f", &base, &peak, &cpu); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Logf("%-20s %12.1f %12.1f %12.1f %12.0f", mode, float64(base)/1024, float64(peak)/1024, float64(peak-base)/1024, cpu)
	}
}

func rssChild(t *testing.T, mode string) {
	dir := os.Getenv("FIELDOPS_IMAGING_RSS_DIR")
	file := "photo.jpg"
	if strings.Contains(mode, "heic") {
		file = "photo.heic"
	}
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	// libjpeg-*: Resize, which takes JPEGs through fitJPEG; vips-*: the libvips pipeline.
	// A job is the preview, then the thumbnail from the preview.
	resize := testImager.Resize
	if strings.HasPrefix(mode, "vips-") {
		resize = viaVips
	}
	job := func() error {
		switch {
		case mode == "purego-jpeg-1600":
			_, err := pureGoResize(src, 1600, draw.ApproxBiLinear)
			return err
		case strings.HasSuffix(mode, "-job"):
			preview, err := resize(src, 1600)
			if err != nil {
				return err
			}
			_, err = resize(preview.Data, 320)
			return err
		}
		side, _ := strconv.Atoi(mode[strings.LastIndexByte(mode, '-')+1:])
		_, err := resize(src, side)
		return err
	}
	runtime.GC()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := procStatus(t, "VmRSS")
	cpu0 := cpuTime(t)
	const rssRuns = 20
	for range rssRuns {
		if err := job(); err != nil {
			t.Fatal(err)
		}
	}
	perJob := (cpuTime(t) - cpu0) / rssRuns
	fmt.Printf("RSS %d %d %.1f\n", base, procStatus(t, "VmHWM"), float64(perJob)/float64(time.Millisecond))
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus reads a kB field of /proc/self/status.
func procStatus(t *testing.T, field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
