package defect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/notify"
)

// transitionFor finds the command in the workflow table.
func transitionFor(a Action) (Transition, bool) {
	for _, t := range Transitions {
		if t.Action == a {
			return t, true
		}
	}
	return Transition{}, false
}

// Transition gives a status-changing command (see Transitions). The checks run in
// this order, each refusal changing nothing: the caller's role for the command (403),
// a draft (409 defect-draft), the version (409 version-conflict), the current status
// (409 invalid-transition), the owner for the owner's commands (403 not-owner), then
// the command's own fields and evidence (422). The change, its history entry and any
// notification commit together.
func (s *Service) Transition(ctx context.Context, id uuid.UUID, cmd Command) (*Defect, error) {
	t, ok := transitionFor(cmd.Action)
	if !ok {
		names := make([]string, len(Transitions))
		for i, t := range Transitions {
			names[i] = string(t.Action)
		}
		return nil, invalid("action", "oneof", "must be one of: "+strings.Join(names, ", "))
	}
	if err := requireVersion(cmd.Version); err != nil {
		return nil, err
	}
	var out *Defect
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		if !p.Has(cur.ProjectID, t.Roles...) {
			return apperr.Forbidden(fmt.Sprintf("your role in this project does not allow %q", t.Action))
		}
		if cur.Draft {
			return apperr.Conflict("defect-draft", "the defect belongs to a draft inspection; submit the inspection first", cur)
		}
		if cur.Version != cmd.Version {
			return apperr.VersionConflict(cur)
		}
		if !slices.Contains(t.From, cur.Status) {
			return apperr.Conflict("invalid-transition",
				fmt.Sprintf("%q is not possible while the defect is %s", t.Action, cur.Status), cur)
		}
		if t.OwnerOnly && (cur.OwnerID == nil || *cur.OwnerID != p.UserID) {
			return apperr.ForbiddenCode("not-owner", fmt.Sprintf("only the defect's owner may %s it", t.Action))
		}
		next, notes, err := s.apply(ctx, cur, p, t, cmd)
		if err != nil {
			return err
		}
		if out, err = s.store.UpdateDefect(ctx, next); err != nil {
			return s.stale(ctx, id, err)
		}
		out.Overdue = isOverdue(out, s.clock())
		from := cur.Status
		ids := cmd.AttachmentIDs
		if ids == nil {
			ids = []uuid.UUID{}
		}
		if err := s.store.InsertEvent(ctx, &Event{
			DefectID: id, Action: t.Action, FromStatus: &from, ToStatus: out.Status, ActorID: p.UserID,
			OwnerID: out.OwnerID, DueAt: out.DueAt, Note: eventNote(cmd), AttachmentIDs: ids, DeviceAt: cmd.DeviceAt,
		}); err != nil {
			return err
		}
		if len(notes) > 0 {
			return s.notifier.Notify(ctx, notes...)
		}
		return nil
	})
	return out, err
}

// eventNote is what the history keeps of the command's words: the reason first.
func eventNote(cmd Command) *string {
	var parts []string
	for _, v := range []*string{cmd.Reason, cmd.Note} {
		if v != nil && strings.TrimSpace(*v) != "" {
			parts = append(parts, strings.TrimSpace(*v))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	n := strings.Join(parts, "\n\n")
	return &n
}

// apply checks the command's fields and evidence and returns the defect after it,
// with the notifications it causes.
func (s *Service) apply(ctx context.Context, cur *Defect, p *authz.Principal, t Transition, cmd Command) (*Defect, []notify.Notification, error) {
	now := s.clock()
	next := *cur
	next.Status = t.To
	var c checker
	if cmd.Note != nil {
		c.text("note", *cmd.Note, false, maxNoteLen)
	}
	if cmd.Reason != nil {
		c.text("reason", *cmd.Reason, false, maxNoteLen)
	}
	if len(cmd.AttachmentIDs) > maxAttachmentIDs {
		c.Add("attachment_ids", "max", fmt.Sprintf("must have at most %d items", maxAttachmentIDs))
	}
	if cmd.DeviceAt != nil && cmd.DeviceAt.After(now.Add(maxClockSkew)) {
		c.Add("device_at", "past", "is more than a day in the future; check the device clock")
	}
	var notes []notify.Notification
	switch t.Action {
	case ActionAssign:
		if err := s.checkAssign(ctx, cur, p, cmd, &c); err != nil {
			return nil, nil, err
		}
		if err := c.Err(); err != nil {
			return nil, nil, err
		}
		next.OwnerID = cmd.OwnerID
		if cmd.DueAt != nil {
			due := cmd.DueAt.UTC()
			next.DueAt = &due
		} else {
			due, err := s.dueAt(ctx, cur, now)
			if err != nil {
				return nil, nil, err
			}
			next.DueAt = &due
		}
		next.AssignedAt = &now
		notes = append(notes, s.assignedNote(&next))
	case ActionAccept:
		next.AcceptedAt = &now
	case ActionFix:
		if err := c.Err(); err != nil {
			return nil, nil, err
		}
		if err := s.checkAfterPhotos(ctx, cur, cmd); err != nil {
			return nil, nil, err
		}
		next.FixedAt = &now
		if next.FirstFixedAt == nil {
			next.FirstFixedAt = &now
		}
	case ActionVerify:
		next.VerifiedAt, next.ClosedAt = &now, &now
	case ActionReopen:
		requireReason(cmd, &c)
		next.ReopenCount++
		if next.OwnerID != nil {
			notes = append(notes, reopenedNote(&next, cmd.Reason))
		}
	case ActionCancel:
		requireReason(cmd, &c)
		if cmd.Reason != nil {
			r := strings.TrimSpace(*cmd.Reason)
			next.CancelReason = &r
		}
		next.ClosedAt = &now
	}
	if err := c.Err(); err != nil {
		return nil, nil, err
	}
	return &next, notes, nil
}

func requireReason(cmd Command, c *checker) {
	if cmd.Reason == nil || strings.TrimSpace(*cmd.Reason) == "" {
		c.Add("reason", "required", "is required: say why")
	}
}

// checkAssign: the owner is an engineer of the project; a due date given is ahead;
// handing a defect that has an owner to someone else is a supervisor's call.
func (s *Service) checkAssign(ctx context.Context, cur *Defect, p *authz.Principal, cmd Command, c *checker) error {
	if cmd.DueAt != nil && !cmd.DueAt.After(s.clock()) {
		c.Add("due_at", "future", "must be in the future")
	}
	if cmd.OwnerID == nil {
		c.Add("owner_id", "required", "is required: the engineer who will fix it")
		return nil
	}
	ok, err := s.store.HasRole(ctx, cur.ProjectID, *cmd.OwnerID, string(authz.RoleEngineer))
	if err != nil {
		return err
	}
	if !ok {
		c.Add("owner_id", "engineer", "must be an engineer of the project")
		return nil
	}
	if cur.OwnerID != nil && *cur.OwnerID != *cmd.OwnerID && !p.Has(cur.ProjectID, managers...) {
		return apperr.Forbidden("only supervisors and project admins may hand a defect to another owner")
	}
	return nil
}

// checkAfterPhotos: a fix needs at least one after-photo of the defect that is not
// rejected (a pending one counts: the phone uploads when it has signal), and every
// photo the command names must be one.
func (s *Service) checkAfterPhotos(ctx context.Context, cur *Defect, cmd Command) error {
	have, err := s.store.AfterPhotos(ctx, cur.ID)
	if err != nil {
		return err
	}
	var bad checker
	if len(have) == 0 {
		bad.Add("attachment_ids", "after-photo-required", "add a photo of the fixed defect (owner_type defect, purpose defect_after) first")
	}
	for i, id := range cmd.AttachmentIDs {
		if !slices.Contains(have, id) {
			bad.Add(fmt.Sprintf("attachment_ids[%d]", i), "after-photo-required", "is not an after-photo of this defect")
		}
	}
	if len(bad.List) == 0 {
		return nil
	}
	e := apperr.Invalid("a fix needs at least one after-photo of this defect, and names only such photos", bad.List...)
	e.Code = "after-photo-required"
	return e
}

func (s *Service) assignedNote(d *Defect) notify.Notification {
	due := ""
	if d.DueAt != nil {
		due = d.DueAt.Format("2006-01-02 15:04 UTC")
	}
	return notify.Notification{
		UserID: *d.OwnerID, ProjectID: d.ProjectID, Kind: "defect_assigned", RecordType: "defect", RecordID: d.ID,
		TitleEN: "Defect assigned to you", TitleZH: "您有新的缺陷整改任务",
		BodyEN: fmt.Sprintf("%s (%s), due %s", clip(d.Description), d.Severity, due),
		BodyZH: fmt.Sprintf("%s（%s），截止 %s", clip(d.Description), d.Severity, due),
		Data:   map[string]string{"defect_id": d.ID.String(), "status": string(d.Status), "due_at": due},
	}
}

func reopenedNote(d *Defect, reason *string) notify.Notification {
	r := ""
	if reason != nil {
		r = clip(strings.TrimSpace(*reason))
	}
	return notify.Notification{
		UserID: *d.OwnerID, ProjectID: d.ProjectID, Kind: "defect_reopened", RecordType: "defect", RecordID: d.ID,
		TitleEN: "Defect reopened", TitleZH: "缺陷已重新打开",
		BodyEN: fmt.Sprintf("%s: %s", clip(d.Description), r),
		BodyZH: fmt.Sprintf("%s：%s", clip(d.Description), r),
		Data:   map[string]string{"defect_id": d.ID.String(), "status": string(d.Status)},
	}
}

// clip keeps a notification's text short enough for a phone's banner.
func clip(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}
