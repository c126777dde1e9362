package attachment

import (
	"time"

	"github.com/google/uuid"
)

// States of an attachment.
const (
	StatePending   = "pending"   // asked for, not yet checked
	StateAvailable = "available" // checked: counts as evidence
	StateRejected  = "rejected"  // failed a check; the object was removed
)

// States of the derivatives of an available attachment.
const (
	DerivativesNone    = "none"
	DerivativesPending = "pending"
	DerivativesReady   = "ready"
	DerivativesFailed  = "failed"
)

// Purposes say what a photo proves.
var Purposes = []string{"defect_before", "defect_after", "signature", "incident", "checkpoint", "floor_plan", "inspection", "other"}

// ContentTypes are the accepted image types, by the format Probe reports.
var ContentTypes = map[string]string{
	"image/jpeg": "jpeg",
	"image/png":  "png",
	"image/webp": "webp",
	"image/heic": "heic",
}

// Attachment is one photo and what is known of it.
type Attachment struct {
	ID          uuid.UUID `json:"id"`
	ProjectID   uuid.UUID `json:"project_id"`
	OwnerType   string    `json:"owner_type"`
	OwnerID     uuid.UUID `json:"owner_id"`
	Purpose     string    `json:"purpose"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      []byte    `json:"-"`
	SHA256Hex   string    `json:"sha256"`
	State       string    `json:"state"`
	Reason      string    `json:"reject_reason,omitempty"`
	UploadedBy  uuid.UUID `json:"uploaded_by"`
	ObjectKey   string    `json:"-"`

	DeviceCapturedAt *time.Time `json:"captured_at,omitempty"`
	DeviceLocation   *Location  `json:"location,omitempty"`

	Format      string     `json:"format,omitempty"`
	Width       int        `json:"width,omitempty"`
	Height      int        `json:"height,omitempty"`
	Orientation int        `json:"orientation,omitempty"`
	Exif        *ExifFacts `json:"exif,omitempty"`

	DerivativesState string      `json:"derivatives_state"`
	DerivativesError string      `json:"derivatives_error,omitempty"`
	Thumbnail        *Derivative `json:"thumbnail,omitempty"`
	Preview          *Derivative `json:"preview,omitempty"`

	ReceivedAt *time.Time `json:"received_at,omitempty"`
	Version    int        `json:"version"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// ExifFacts is what the server read from the file's EXIF.
type ExifFacts struct {
	TakenAt     *time.Time `json:"taken_at,omitempty"`
	Location    *Location  `json:"location,omitempty"`
	CameraMake  string     `json:"camera_make,omitempty"`
	CameraModel string     `json:"camera_model,omitempty"`
}

// Derivative is a resized copy.
type Derivative struct {
	Key    string `json:"-"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// NewAttachment is the app's request to upload a photo.
type NewAttachment struct {
	ID          uuid.UUID
	OwnerType   string
	OwnerID     uuid.UUID
	Purpose     string
	ContentType string
	Size        int64
	SHA256      []byte
	CapturedAt  *time.Time
	Location    *Location
}

// WithURLs is an attachment with short-lived download links.
type WithURLs struct {
	Attachment
	URLs URLs `json:"urls"`
}

// URLs are presigned downloads; absent until the object is there.
type URLs struct {
	Original  string    `json:"original,omitempty"`
	Thumbnail string    `json:"thumbnail,omitempty"`
	Preview   string    `json:"preview,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Presigned is the answer to a request to upload.
type Presigned struct {
	Attachment Attachment `json:"attachment"`
	Upload     Upload     `json:"upload"`
}

// ObjectKey names the stored original of attachment id.
func ObjectKey(id uuid.UUID) string { return "attachments/" + id.String() + "/original" }

// DerivativeKey names a derivative of attachment id.
func DerivativeKey(id uuid.UUID, name string) string {
	return "attachments/" + id.String() + "/" + name + ".jpg"
}
