package attachment

import (
	"context"
	"errors"
	"io"
	"time"
)

// BlobStore is what attachments need from the blob store (MinIO/S3, or the local
// folder). Keys are opaque paths such as "attachments/<id>/original".
type BlobStore interface {
	// PresignPut returns a request the app sends as is; the store refuses a body whose
	// length, content type or SHA-256 differ from the ones signed here.
	PresignPut(ctx context.Context, key, contentType string, size int64, sha256 []byte, ttl time.Duration) (Upload, error)
	// PresignGet returns a URL that downloads the object until ttl passes.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	// Stat describes a stored object; ErrBlobNotFound when there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// ReadRange reads up to length bytes from offset (fewer at the end of the object).
	ReadRange(ctx context.Context, key string, offset, length int64) ([]byte, error)
	// Get streams the whole object.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Put stores an object the server made (derivatives).
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// Upload is a presigned request: the app sends Method to URL with exactly Headers.
type Upload struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// ObjectInfo is what the store knows of an object. SHA256 is the checksum the store
// verified on upload (nil when the store cannot say).
type ObjectInfo struct {
	Size        int64
	ContentType string
	SHA256      []byte
}

// ErrBlobNotFound says the object is not in the store.
var ErrBlobNotFound = errors.New("blob not found")

// Imager reads and resizes photos.
type Imager interface {
	// Probe reads the format, pixel size, orientation and EXIF from the first bytes of
	// a file (enough to hold its header and EXIF block), without decoding the pixels.
	Probe(head []byte) (ImageInfo, error)
	// Resize decodes src, applies the EXIF orientation, fits it within maxSide pixels
	// and encodes a JPEG with every metadata field (GPS included) removed.
	Resize(src []byte, maxSide int) (Derived, error)
}

// ImageInfo is what Probe read.
type ImageInfo struct {
	Format      string // jpeg, png, webp, heic
	ContentType string // image/jpeg, …
	Width       int
	Height      int
	Orientation int // EXIF orientation 1–8; 1 when absent
	TakenAt     *time.Time
	Location    *Location
	CameraMake  string
	CameraModel string
}

// Location is a point on Earth, from EXIF GPS or the device.
type Location struct {
	Lat       float64  `json:"lat"`
	Lng       float64  `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

// Derived is a resized image.
type Derived struct {
	Data   []byte
	Width  int
	Height int
}

// Probe errors.
var (
	ErrUnsupportedFormat = errors.New("not a JPEG, PNG, WebP or HEIC image")
	ErrUndecodable       = errors.New("the image cannot be decoded")
	// ErrTooManyPixels is a header promising more pixels than allowed (a pixel bomb).
	ErrTooManyPixels = errors.New("too many pixels")
)
