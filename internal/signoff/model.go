// Package signoff is the buyer's sign-off at a walkthrough or at handover: the
// signature, the outcome, and the unit's open defects frozen at that moment with the
// SHA-256 of that snapshot, so it can later be shown whether the list has changed.
package signoff

import (
	"time"

	"github.com/google/uuid"
)

// Outcome is what the buyer decided.
type Outcome string

// The outcomes.
const (
	OutcomeAccepted            Outcome = "accepted"
	OutcomeAcceptedWithDefects Outcome = "accepted_with_defects"
	OutcomeRefused             Outcome = "refused"
)

const (
	signaturePurpose    = "signature"
	signatureOwnerType  = "unit"
	attachmentRejected  = "rejected"
	inspectionDraft     = "draft"
	maxBuyerNameLen     = 200
	maxRefusalReasonLen = 2000
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeAccepted, OutcomeAcceptedWithDefects, OutcomeRefused}

// Signoff is one recorded signature. It never changes once written.
type Signoff struct {
	ID                    uuid.UUID  `json:"id"`
	ProjectID             uuid.UUID  `json:"project_id"`
	UnitID                uuid.UUID  `json:"unit_id"`
	InspectionID          *uuid.UUID `json:"inspection_id"`
	Outcome               Outcome    `json:"outcome"`
	RefusalReason         *string    `json:"refusal_reason"`
	BuyerName             string     `json:"buyer_name"`
	SignatureAttachmentID uuid.UUID  `json:"signature_attachment_id"`
	RecordedBy            uuid.UUID  `json:"recorded_by"`
	SignedAt              *time.Time `json:"signed_at"` // device time
	Snapshot              Snapshot   `json:"snapshot"`
	SnapshotSHA256        string     `json:"snapshot_sha256"` // hex
	CreatedAt             time.Time  `json:"created_at"`      // server time
	// Current compares the unit's open defects now with the snapshot; filled on reads.
	Current *Comparison `json:"current,omitempty"`
}

// Snapshot is a unit's open defects in id order.
type Snapshot []Defect

// Defect is one open defect as the buyer saw it. The field order is the canonical
// JSON's key order, which the hash depends on: do not reorder.
type Defect struct {
	ID          uuid.UUID  `json:"id"`
	Category    string     `json:"category"`
	Severity    string     `json:"severity"`
	Status      string     `json:"status"`
	Room        *string    `json:"room"`
	Description string     `json:"description"`
	DueAt       *time.Time `json:"due_at"`
	OwnerID     *uuid.UUID `json:"owner_id"`
}

// Comparison says how the unit's open defects now differ from a snapshot.
type Comparison struct {
	SHA256  string      `json:"sha256"`
	Differs bool        `json:"differs"`
	Added   []uuid.UUID `json:"added"`   // open now, not in the snapshot
	Removed []uuid.UUID `json:"removed"` // in the snapshot, no longer open (closed, cancelled, deleted)
	Changed []uuid.UUID `json:"changed"` // in both, with another field value
}

// New is a sign-off to record.
type New struct {
	ID                    *uuid.UUID
	UnitID                uuid.UUID
	InspectionID          *uuid.UUID
	Outcome               Outcome
	RefusalReason         *string
	BuyerName             string
	SignatureAttachmentID uuid.UUID
	SignedAt              *time.Time
}
