package workorder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
	"github.com/fieldops/fieldops/internal/sla"
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

// slaEvents are the SLA events each command causes.
var slaEvents = map[Action]string{
	ActionAssign: sla.EventAssigned, ActionHandOver: sla.EventAssigned, ActionAccept: sla.EventAccepted,
	ActionContact: sla.EventContacted, ActionArrive: sla.EventOnSite, ActionFeedback: sla.EventFeedback,
	ActionResolve: sla.EventResolved, ActionConfirm: sla.EventConfirmed, ActionClose: sla.EventClosed,
	ActionReopen: sla.EventReopened, ActionCancel: sla.EventCancelled, ActionWait: sla.EventWaitingCustomer,
	ActionResume: sla.EventCustomerBack,
}

// Transition gives a command (see Transitions). The checks run in this order, each
// refusal changing nothing: a supervisors' command given by someone else (403
// forbidden), the version (409 version-conflict), the current status or waiting state
// (409 invalid-transition), the owner for the owner's commands (403 not-owner), then
// the command's own fields and evidence (422). The change, its history entry, the
// notification and the SLA clocks' reaction commit together. The answer shows the
// reporter masked.
func (s *Service) Transition(ctx context.Context, id uuid.UUID, cmd Command) (*WorkOrder, error) {
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
	var out *WorkOrder
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		manager := p.Has(cur.ProjectID, managers...)
		if !t.Owner && !manager {
			return apperr.Forbidden(fmt.Sprintf("only supervisors and project admins may %s a work order", strings.ReplaceAll(string(t.Action), "_", " ")))
		}
		if cur.Version != cmd.Version {
			return apperr.VersionConflict(masked(cur))
		}
		if err := checkState(cur, t); err != nil {
			return err
		}
		if (!t.Managers || !manager) && !isOwner(cur, p) {
			return apperr.ForbiddenCode("not-owner", fmt.Sprintf("only the work order's owner may %s it", strings.ReplaceAll(string(t.Action), "_", " ")))
		}
		now := s.clock()
		next, notes, err := s.apply(ctx, cur, t, cmd, now)
		if err != nil {
			return err
		}
		w, err := s.store.UpdateWorkOrder(ctx, next)
		if err != nil {
			return s.stale(ctx, id, err)
		}
		from := cur.Status
		ids := cmd.AttachmentIDs
		if ids == nil {
			ids = []uuid.UUID{}
		}
		if err := s.store.InsertEvent(ctx, &Event{
			WorkOrderID: id, Action: t.Action, FromStatus: &from, ToStatus: w.Status, ActorID: p.UserID,
			OwnerID: w.OwnerID, Note: eventNote(cmd), AttachmentIDs: ids, DeviceAt: cmd.DeviceAt,
		}); err != nil {
			return err
		}
		if len(notes) > 0 {
			if err := s.notifier.Notify(ctx, notes...); err != nil {
				return err
			}
		}
		if err := s.observe(ctx, w, now, slaEvents[t.Action]); err != nil {
			return err
		}
		out = masked(w)
		return nil
	})
	return out, err
}

// checkState refuses a command the work order's status (or its waiting for the
// customer) does not allow, with the work order as it is.
func checkState(cur *WorkOrder, t Transition) error {
	refuse := func(why string) error {
		return apperr.Conflict("invalid-transition", fmt.Sprintf("%q is not possible while the work order %s", t.Action, why), masked(cur))
	}
	if !slices.Contains(t.From, cur.Status) {
		return refuse("is " + string(cur.Status))
	}
	switch {
	case t.Action == ActionWait && cur.WaitingCustomer:
		return refuse("is already waiting for the customer")
	case t.Action == ActionResume && !cur.WaitingCustomer:
		return refuse("is not waiting for the customer")
	case t.Action == ActionResolve && cur.WaitingCustomer:
		// The paused clocks must run again first, so the wait is accounted before the end.
		return refuse("is waiting for the customer; resume first")
	}
	return nil
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

// apply checks the command's fields and evidence and returns the work order after it,
// with the notifications it causes.
func (s *Service) apply(ctx context.Context, cur *WorkOrder, t Transition, cmd Command, now time.Time) (*WorkOrder, []notify.Notification, error) {
	next := *cur
	if t.To != "" {
		next.Status = t.To
	}
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
	if cmd.DeviceAt != nil && cmd.DeviceAt.After(now.Add(maxDeviceSkew)) {
		c.Add("device_at", "past", "is more than a day in the future; check the device clock")
	}
	var notes []notify.Notification
	switch t.Action {
	case ActionAssign, ActionHandOver:
		if err := s.checkNewOwner(ctx, cur, t, cmd, &c); err != nil {
			return nil, nil, err
		}
		if err := c.Err(); err != nil {
			return nil, nil, err
		}
		next.OwnerID = cmd.OwnerID
		if t.Action == ActionAssign {
			next.AssignedAt = &now
		}
		notes = append(notes, ownerNote(&next, t.Action))
	case ActionAccept:
		next.AcceptedAt = &now
	case ActionContact:
		if next.ContactedAt == nil { // the first contact is the one the SLA measures
			next.ContactedAt = &now
		}
	case ActionArrive:
		next.OnSiteAt = &now
	case ActionFeedback:
		next.FeedbackAt = &now
	case ActionResolve:
		if err := c.Err(); err != nil {
			return nil, nil, err
		}
		if err := s.checkEvidence(ctx, cur, cmd); err != nil {
			return nil, nil, err
		}
		next.ResolvedAt = &now
	case ActionConfirm:
		next.ConfirmedAt = &now
	case ActionClose:
		next.ClosedAt = &now
	case ActionReopen:
		requireReason(cmd, &c)
		next.ReopenCount++
		next.ResolvedAt, next.ConfirmedAt = nil, nil
	case ActionCancel:
		requireReason(cmd, &c)
		next.CancelledAt = &now
		next.WaitingCustomer = false
	case ActionWait:
		requireReason(cmd, &c)
		next.WaitingCustomer = true
	case ActionResume:
		next.WaitingCustomer = false
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

// checkNewOwner: the owner is a member of the project; a hand-over goes to someone else.
func (s *Service) checkNewOwner(ctx context.Context, cur *WorkOrder, t Transition, cmd Command, c *checker) error {
	if cmd.OwnerID == nil {
		c.Add("owner_id", "required", "is required: the project member who will own it")
		return nil
	}
	ok, err := s.store.IsMember(ctx, cur.ProjectID, *cmd.OwnerID)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		c.Add("owner_id", "member", "must be a member of the project")
	case t.Action == ActionHandOver && isOwnerID(cur, *cmd.OwnerID):
		c.Add("owner_id", "other", "already owns it: hand it over to someone else")
	}
	return nil
}

func isOwnerID(w *WorkOrder, id uuid.UUID) bool { return w.OwnerID != nil && *w.OwnerID == id }

// checkEvidence: a resolution needs a note or an after-photo of the work order that is
// not rejected (a pending one counts: the phone uploads when it has signal), and every
// photo the command names must be one.
func (s *Service) checkEvidence(ctx context.Context, cur *WorkOrder, cmd Command) error {
	have, err := s.store.AfterPhotos(ctx, cur.ID)
	if err != nil {
		return err
	}
	var bad checker
	hasNote := cmd.Note != nil && strings.TrimSpace(*cmd.Note) != ""
	if len(have) == 0 && !hasNote {
		bad.Add("note", "evidence-required", "add a note, or a photo of the result (owner_type work_order, purpose defect_after or other) first")
	}
	for i, id := range cmd.AttachmentIDs {
		if !slices.Contains(have, id) {
			bad.Add(fmt.Sprintf("attachment_ids[%d]", i), "evidence-required", "is not a photo of this work order")
		}
	}
	if len(bad.List) == 0 {
		return nil
	}
	e := apperr.Invalid("a resolution needs a note or a photo of the result, and names only this work order's photos", bad.List...)
	e.Code = "evidence-required"
	return e
}

// ownerNote tells the new owner about their work order. It carries no personal data:
// pushes pass through the provider's servers.
func ownerNote(w *WorkOrder, action Action) notify.Notification {
	kind, titleEN, titleZH := "work_order_assigned", "Work order assigned to you", "您有新的工单"
	if action == ActionHandOver {
		kind, titleEN, titleZH = "work_order_handed_over", "Work order handed over to you", "有工单转交给您"
	}
	return notify.Notification{
		UserID: *w.OwnerID, ProjectID: w.ProjectID, Kind: kind, RecordType: "work_order", RecordID: w.ID,
		TitleEN: titleEN, TitleZH: titleZH,
		BodyEN: fmt.Sprintf("[%s] %s", w.Priority, clip(w.Title)),
		BodyZH: fmt.Sprintf("【%s】%s", priorityZH[w.Priority], clip(w.Title)),
		Data:   map[string]string{"work_order_id": w.ID.String(), "status": string(w.Status), "priority": w.Priority},
		Urgent: w.Priority == "emergency",
	}
}

var priorityZH = map[string]string{"emergency": "紧急", "urgent": "加急", "normal": "普通"}

// clip keeps a notification's text short enough for a phone's banner.
func clip(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}
