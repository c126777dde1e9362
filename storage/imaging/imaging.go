// Package imaging reads and resizes photos for attachments: Probe reads format, pixel
// size and EXIF evidence from the first bytes of a file with small header parsers (no
// pixel is decoded), and Resize makes the JPEG derivatives (shrink-on-load, EXIF
// orientation applied, every metadata field removed): JPEG photos straight through
// libjpeg-turbo (jpegfit.c), everything else with libvips through govips.
//
// Both are C libraries: building needs cgo, libjpeg-dev and libvips-dev
// (scripts/ensure-vips.sh), running needs libjpeg62-turbo, libvips42 and, for HEIC,
// libheif1 with libde265-0.
package imaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"

	"github.com/davidbyttow/govips/v2/vips"

	"github.com/fieldops/fieldops/internal/attachment"
)

// ErrTooManyPixels says the image is larger than Options.MaxPixels (a pixel bomb, or just
// too big to process). It wraps attachment.ErrTooManyPixels and attachment.ErrUndecodable.
var ErrTooManyPixels = fmt.Errorf("%w: %w", attachment.ErrUndecodable, attachment.ErrTooManyPixels)

// Options tune the Imager. Zero values take the defaults.
type Options struct {
	// MaxPixels refuses images whose width×height is larger (default 100 MP).
	MaxPixels int64
	// JPEGQuality of the derivatives, 1–100 (default 82).
	JPEGQuality int
	// MaxJobs is how many Resize calls run at once; more wait (default GOMAXPROCS).
	// Each holds at most a few tens of MB (see docs/BENCHMARKS.md).
	MaxJobs int
	// Threads is libvips' worker threads per operation (default 1: jobs run in
	// parallel, one photo each). Only the first New of the process sets it.
	Threads int
	// Logger receives libvips warnings and errors (default slog.Default()). Only the
	// first New of the process sets it.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxPixels   = 100_000_000
	DefaultJPEGQuality = 82
)

// Imager implements attachment.Imager. It is safe for concurrent use.
type Imager struct {
	maxPixels int64
	quality   int
	jobs      chan struct{}
}

var _ attachment.Imager = (*Imager)(nil)

var (
	startOnce sync.Once
	stopMu    sync.RWMutex
	started   bool // guarded by startOnce, then by stopMu
	stopped   bool
)

// New returns an Imager, starting libvips the first time it is called in the process.
func New(opts Options) (*Imager, error) {
	if opts.MaxPixels == 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.JPEGQuality == 0 {
		opts.JPEGQuality = DefaultJPEGQuality
	}
	if opts.MaxJobs == 0 {
		opts.MaxJobs = runtime.GOMAXPROCS(0)
	}
	if opts.Threads == 0 {
		opts.Threads = 1
	}
	switch {
	case opts.MaxPixels < 0:
		return nil, errors.New("imaging: MaxPixels must be positive")
	case opts.JPEGQuality < 1 || opts.JPEGQuality > 100:
		return nil, errors.New("imaging: JPEGQuality must be 1–100")
	case opts.MaxJobs < 0 || opts.Threads < 0:
		return nil, errors.New("imaging: MaxJobs and Threads must be positive")
	}
	stopMu.RLock()
	defer stopMu.RUnlock()
	if stopped {
		return nil, errors.New("imaging: libvips was shut down")
	}
	startOnce.Do(func() { startup(opts) })
	return &Imager{
		maxPixels: opts.MaxPixels,
		quality:   opts.JPEGQuality,
		jobs:      make(chan struct{}, opts.MaxJobs),
	}, nil
}

func startup(opts Options) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With(slog.String("component", "libvips"))
	vips.LoggingSettings(func(domain string, level vips.LogLevel, msg string) {
		lvl := slog.LevelWarn
		if level == vips.LogLevelError || level == vips.LogLevelCritical {
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, strings.TrimSpace(msg), slog.String("domain", domain))
	}, vips.LogLevelWarning)
	// Each photo is processed once: the operation cache would only hold memory.
	vips.Startup(&vips.Config{
		ConcurrencyLevel: opts.Threads,
		MaxCacheFiles:    0,
		MaxCacheMem:      0,
		MaxCacheSize:     0,
	})
	started = true
}

// Shutdown stops libvips. Call it once when the process ends; libvips cannot be started
// again, so Resize fails afterwards.
func Shutdown() {
	stopMu.Lock()
	defer stopMu.Unlock()
	if stopped {
		return
	}
	stopped = true
	startOnce.Do(func() {}) // a New after this point must not start libvips
	if started {
		vips.Shutdown()
	}
}

// Probe reads the format, pixel size, orientation and EXIF from the start of a file
// (256 KiB is plenty for phone photos) without decoding pixels.
//
// Width and Height are the stored pixel size; Orientation (1–8) says how to turn it
// upright, so the upright size is Height×Width for 5–8. For JPEG it is the EXIF tag;
// for HEIC it comes from the irot/imir properties, which decoders apply (the EXIF tag
// inside a HEIC is informational and ignored, as libheif does).
//
// Errors: attachment.ErrUnsupportedFormat for anything but JPEG, PNG, WebP or HEIC
// (AVIF included); attachment.ErrUndecodable when the header is broken or not within
// head; ErrTooManyPixels (which wraps attachment.ErrTooManyPixels and ErrUndecodable)
// above MaxPixels.
func (im *Imager) Probe(head []byte) (attachment.ImageInfo, error) {
	h, err := im.header(head)
	if err != nil {
		return attachment.ImageInfo{}, err
	}
	info := attachment.ImageInfo{
		Format:      h.format,
		ContentType: h.contentType,
		Width:       h.width,
		Height:      h.height,
		Orientation: 1,
	}
	if h.exif != nil {
		x := readExif(h.exif)
		if x.orientation != 0 {
			info.Orientation = x.orientation
		}
		info.TakenAt = x.takenAt
		if x.hasGPS {
			info.Location = &attachment.Location{Lat: x.lat, Lng: x.lng}
		}
		info.CameraMake, info.CameraModel = x.make, x.model
	}
	if h.format == "heic" {
		info.Orientation = max(h.orientation, 1)
	}
	return info, nil
}

func (im *Imager) header(b []byte) (header, error) {
	h, err := readHeader(b)
	if err != nil {
		return header{}, err
	}
	if int64(h.width)*int64(h.height) > im.maxPixels {
		return header{}, fmt.Errorf("%w: %d×%d is over %d pixels", ErrTooManyPixels, h.width, h.height, im.maxPixels)
	}
	return h, nil
}

// Resize decodes src (the whole file), applies its orientation, fits it within
// maxSide×maxSide (never enlarging) and encodes a baseline JPEG without any metadata:
// no EXIF, GPS, XMP, IPTC or ICC profile. JPEG input is shrunk while it is decoded, so
// memory stays far below the full decoded size. YCbCr, RGB and grey JPEGs (phone photos)
// go through libjpeg-turbo alone; CMYK JPEGs and the other formats through libvips.
func (im *Imager) Resize(src []byte, maxSide int) (attachment.Derived, error) {
	if maxSide < 1 {
		return attachment.Derived{}, fmt.Errorf("imaging: maxSide %d must be positive", maxSide)
	}
	// The header check refuses other formats (libvips would load many more, PDF and
	// SVG among them) and pixel bombs before libvips sees a byte.
	h, err := im.header(src)
	if err != nil {
		return attachment.Derived{}, err
	}
	im.jobs <- struct{}{}
	defer func() { <-im.jobs }()

	stopMu.RLock()
	defer stopMu.RUnlock()
	if stopped {
		return attachment.Derived{}, errors.New("imaging: libvips was shut down")
	}

	if h.format == "jpeg" {
		if d, ok, err := im.fitJPEG(src, h, maxSide); ok {
			return d, err
		}
	}
	return im.resizeVips(src, h, maxSide)
}

// resizeVips is Resize through libvips: every format but the JPEGs fitJPEG takes.
func (im *Imager) resizeVips(src []byte, h header, maxSide int) (attachment.Derived, error) {
	var img *vips.ImageRef
	var err error
	if h.format == "jpeg" {
		img, err = loadJPEGWithin(src, h, maxSide)
	} else {
		params := vips.NewImportParams() // fail=true: a truncated or corrupt file is an error
		img, err = vips.LoadThumbnailFromBuffer(src, maxSide, maxSide, vips.InterestingNone, vips.SizeDown, params)
	}
	if err != nil {
		return attachment.Derived{}, fmt.Errorf("%w: %s", attachment.ErrUndecodable, vipsMessage(err))
	}
	defer img.Close()
	if img.HasAlpha() { // screenshots: transparent areas become white, not black
		if err := img.Flatten(&vips.Color{R: 255, G: 255, B: 255}); err != nil {
			return attachment.Derived{}, fmt.Errorf("imaging: flatten: %s", vipsMessage(err))
		}
	}
	ep := vips.NewJpegExportParams()
	ep.Quality = im.quality
	ep.StripMetadata = true
	ep.Interlace = false
	ep.OptimizeCoding = true
	data, _, err := img.ExportJpeg(ep)
	if err != nil {
		// A lazily decoded input can also fail here, when the pixels are read.
		return attachment.Derived{}, fmt.Errorf("%w: %s", attachment.ErrUndecodable, vipsMessage(err))
	}
	runtime.KeepAlive(src) // libvips reads src until the export has finished
	return attachment.Derived{Data: data, Width: img.Width(), Height: img.Height()}, nil
}

// loadJPEGWithin decodes a JPEG at 1/8, 1/4 or 1/2 scale (libjpeg's DCT scaling), the
// smallest that keeps the long side at least maxSide, reduces what is left with a linear
// (triangle) filter and turns it upright. This is what vips_thumbnail does, except for the
// filter: for the under-2× reduction that remains after the scaled decode, linear looks
// the same as thumbnail's lanczos3 and costs a fraction (docs/BENCHMARKS.md), which makes
// a 12 MP photo's preview a third cheaper.
func loadJPEGWithin(src []byte, h header, maxSide int) (*vips.ImageRef, error) {
	long := max(h.width, h.height)
	shrink := 1
	for _, s := range []int{8, 4, 2} {
		if long/s >= maxSide {
			shrink = s
			break
		}
	}
	params := vips.NewImportParams() // fail=true: a truncated or corrupt file is an error
	params.JpegShrinkFactor.Set(shrink)
	img, err := vips.LoadImageFromBuffer(src, params)
	if err != nil {
		return nil, err
	}
	if scale := float64(maxSide) / float64(max(img.Width(), img.Height())); scale < 1 {
		if err := img.Resize(scale, vips.KernelLinear); err != nil {
			img.Close()
			return nil, err
		}
	}
	if err := img.AutoRotate(); err != nil {
		img.Close()
		return nil, err
	}
	// Printers' CMYK JPEGs would stay CMYK, which phones show wrongly.
	if img.Interpretation() == vips.InterpretationCMYK {
		if err := img.ToColorSpace(vips.InterpretationSRGB); err != nil {
			img.Close()
			return nil, err
		}
	}
	return img, nil
}

// vipsMessage keeps the libvips message of a govips error, without the Go stack govips
// appends.
func vipsMessage(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\nStack:")
	return strings.Join(strings.Fields(s), " ")
}
