package inspection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// Service manages checklist templates and inspections. Guards see none of it; the
// other members of a project read the project's inspections, except drafts, which
// only their author sees (a lost phone loses nothing, yet nobody sees half-done work).
type Service struct {
	store Store
	tx    Tx
}

// NewService returns the service over store; tx opens its transactions.
func NewService(store Store, tx Tx) *Service { return &Service{store: store, tx: tx} }

// readRoles read templates and inspections: every role but guard.
var readRoles = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador, authz.RoleEngineer}

// createRoles may start an inspection of kind: the handover staff, and building
// engineers for the checks that are theirs (one-year check, site acceptance).
func createRoles(kind Kind) []authz.Role {
	roles := []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}
	if kind == KindOneYearCheck || kind == KindSiteAcceptance {
		roles = append(roles, authz.RoleEngineer)
	}
	return roles
}

// Limits of an inspection.
const (
	maxNotesLen     = 4000
	maxBuyerNameLen = 200
	maxAnswerText   = 4000
	maxAnswerNote   = 2000
	maxAnswerPhotos = 20
	maxAnswers      = maxTemplateItems
)

// CreateInspection starts a draft inspection of a unit or a zone, by the caller. With
// a template, the inspection keeps the template's current revision.
func (s *Service) CreateInspection(ctx context.Context, in NewInspection) (out *Inspection, created bool, _ error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		want, err := s.newInspection(ctx, p, in)
		if err != nil {
			return err
		}
		if in.ID != nil {
			cur, err := s.store.GetInspection(ctx, *in.ID, NoLock)
			switch {
			case err == nil:
				if !visibleTo(p, cur) {
					return idExists(nil)
				}
				if sameNewInspection(cur, want) {
					out = cur
					return nil
				}
				return idExists(cur)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		id, err := ids.New(in.ID)
		if err != nil {
			return err
		}
		want.ID = id
		out, err = s.store.InsertInspection(ctx, want)
		created = err == nil
		return err
	})
	return out, created, err
}

// newInspection checks a new inspection and builds it: where it is, that the caller may
// start one there, its fields and its template.
func (s *Service) newInspection(ctx context.Context, p *authz.Principal, in NewInspection) (*Inspection, error) {
	place, err := s.placeOf(ctx, p, in.UnitID, in.ZoneID)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "inspection", place.ProjectID, createRoles(in.Kind)...); err != nil {
		return nil, err
	}
	want := &Inspection{
		ProjectID: place.ProjectID, BuildingID: place.BuildingID, UnitID: in.UnitID, ZoneID: in.ZoneID,
		Kind: Kind(strings.TrimSpace(string(in.Kind))), TemplateID: in.TemplateID, InspectorID: p.UserID,
		BuyerPresent: in.BuyerPresent, BuyerName: trimmedName(in.BuyerName), Notes: strings.TrimSpace(in.Notes),
		StartedAt: utcMicro(in.StartedAt), Answers: map[string]Answer{}, State: StateDraft,
	}
	var c checker
	c.ClientID(in.ID)
	switch {
	case !want.Kind.Valid():
		c.Add("kind", "oneof", "must be one of: "+kindList())
	case want.Kind.OfZone() && want.UnitID != nil:
		c.Add("kind", "place", "a site acceptance is of a zone: name zone_id, not unit_id")
	case !want.Kind.OfZone() && want.ZoneID != nil:
		c.Add("kind", "place", "an inspection of this kind is of a unit: name unit_id, not zone_id")
	}
	checkFields(&c, want)
	if want.TemplateID != nil {
		if err := s.useTemplate(ctx, want, &c); err != nil {
			return nil, err
		}
	}
	return want, c.Err()
}

// placeOf resolves the unit or zone of a new inspection. One the caller cannot see is
// refused like one that does not exist.
func (s *Service) placeOf(ctx context.Context, p *authz.Principal, unitID, zoneID *uuid.UUID) (Place, error) {
	var (
		field string
		place Place
		err   error
	)
	switch {
	case (unitID == nil) == (zoneID == nil):
		return Place{}, apperr.Invalid("the request has invalid fields",
			apperr.FieldError{Field: "unit_id", Rule: "required", Message: "name exactly one of unit_id and zone_id"})
	case unitID != nil:
		field = "unit_id"
		place, err = s.store.UnitPlace(ctx, *unitID)
	default:
		field = "zone_id"
		place, err = s.store.ZonePlace(ctx, *zoneID)
	}
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && !p.Has(place.ProjectID)) {
		return Place{}, apperr.Invalid("the request has invalid fields",
			apperr.FieldError{Field: field, Rule: "exists", Message: "is not a " + strings.TrimSuffix(field, "_id") + " of a project you belong to"})
	}
	return place, err
}

// useTemplate checks the template of a new inspection applies to its project and kind
// and records the template's current revision.
func (s *Service) useTemplate(ctx context.Context, i *Inspection, c *checker) error {
	t, err := s.store.GetTemplate(ctx, *i.TemplateID, ForShare)
	if errors.Is(err, apperr.ErrNotFound) {
		c.Add("template_id", "exists", "is not a checklist template of this project")
		return nil
	}
	if err != nil {
		return err
	}
	orgID, err := s.store.ProjectOrganization(ctx, i.ProjectID)
	if err != nil {
		return err
	}
	switch {
	case t.OrganizationID != orgID || (t.ProjectID != nil && *t.ProjectID != i.ProjectID):
		c.Add("template_id", "exists", "is not a checklist template of this project")
	case len(t.Kinds) > 0 && !slices.Contains(t.Kinds, i.Kind):
		c.Add("template_id", "kind", fmt.Sprintf("is not meant for %s inspections", i.Kind))
	default:
		rev := t.Revision
		i.TemplateRevision = &rev
	}
	return nil
}

// checkFields validates the fields a create and a patch share.
func checkFields(c *checker, i *Inspection) {
	c.multiline("notes", i.Notes, maxNotesLen)
	if i.BuyerName != nil {
		c.text("buyer_name", *i.BuyerName, 1, maxBuyerNameLen)
	}
	if i.StartedAt != nil && i.FinishedAt != nil && i.FinishedAt.Before(*i.StartedAt) {
		c.Add("finished_at", "after", "must not be before started_at")
	}
}

func sameNewInspection(cur, want *Inspection) bool {
	return cur.ProjectID == want.ProjectID && ids.Same(cur.UnitID, want.UnitID) && ids.Same(cur.ZoneID, want.ZoneID) &&
		cur.Kind == want.Kind && ids.Same(cur.TemplateID, want.TemplateID) && cur.InspectorID == want.InspectorID &&
		cur.BuyerPresent == want.BuyerPresent && ids.Same(cur.BuyerName, want.BuyerName) && cur.Notes == want.Notes &&
		ids.Same(cur.StartedAt, want.StartedAt)
}

// load reads an inspection the caller may see: a member who reads handover work, and
// for a draft only its author (to anyone else it does not exist).
func (s *Service) load(ctx context.Context, id uuid.UUID, lock Lock) (*Inspection, *authz.Principal, error) {
	i, err := s.store.GetInspection(ctx, id, lock)
	if err != nil {
		return nil, nil, err
	}
	p, err := authz.Require(ctx, "inspection", i.ProjectID, readRoles...)
	if err != nil {
		return nil, nil, err
	}
	if i.State == StateDraft && i.InspectorID != p.UserID {
		return nil, nil, apperr.NotFound("inspection")
	}
	return i, p, nil
}

func visibleTo(p *authz.Principal, i *Inspection) bool {
	return p.Has(i.ProjectID, readRoles...) && (i.State != StateDraft || i.InspectorID == p.UserID)
}

// loadDraft reads a draft for a change by its author, locked, at version.
func (s *Service) loadDraft(ctx context.Context, id uuid.UUID, version int) (*Inspection, *authz.Principal, error) {
	cur, p, err := s.load(ctx, id, ForUpdate)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDraft(cur, version); err != nil {
		return nil, nil, err
	}
	return cur, p, nil
}

// checkDraft checks a visible inspection is a draft at version. A visible draft is the
// caller's own, so the author needs no check of its own.
func checkDraft(cur *Inspection, version int) error {
	if cur.State != StateDraft {
		return apperr.Conflict("inspection-not-draft", fmt.Sprintf("only a draft may change; this inspection is %s", cur.State), cur)
	}
	if cur.Version != version {
		return apperr.VersionConflict(cur)
	}
	return nil
}

// GetInspection returns an inspection with its answers.
func (s *Service) GetInspection(ctx context.Context, id uuid.UUID) (*Inspection, error) {
	i, _, err := s.load(ctx, id, NoLock)
	return i, err
}

// ListInspections lists inspections without their answers, in id order: of a project,
// a unit or a zone, or of every project where the caller reads them.
func (s *Service) ListInspections(ctx context.Context, f Filter, req page.Request) (page.Page[Inspection], error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return page.Page[Inspection]{}, err
	}
	if f.State != nil && !slices.Contains(States, *f.State) {
		return page.Page[Inspection]{}, apperr.Invalid("bad filter",
			apperr.FieldError{Field: "state", Rule: "oneof", Message: "must be one of: draft, submitted, closed"})
	}
	q := ListQuery{UnitID: f.UnitID, ZoneID: f.ZoneID, State: f.State, Viewer: p.UserID}
	if f.Mine {
		q.InspectorID = &p.UserID
	}
	for _, where := range []struct {
		what string
		id   *uuid.UUID
		find func(context.Context, uuid.UUID) (Place, error)
	}{
		{"project", f.ProjectID, func(_ context.Context, id uuid.UUID) (Place, error) { return Place{ProjectID: id}, nil }},
		{"unit", f.UnitID, s.store.UnitPlace},
		{"zone", f.ZoneID, s.store.ZonePlace},
	} {
		if where.id == nil {
			continue
		}
		place, err := where.find(ctx, *where.id)
		if err != nil {
			return page.Page[Inspection]{}, err
		}
		if _, err := authz.Require(ctx, where.what, place.ProjectID, readRoles...); err != nil {
			return page.Page[Inspection]{}, err
		}
		if !slices.Contains(q.ProjectIDs, place.ProjectID) {
			q.ProjectIDs = append(q.ProjectIDs, place.ProjectID)
		}
	}
	if len(q.ProjectIDs) > 1 {
		return page.Build([]Inspection{}, req.Limit, inspectionID), nil // filters of different projects
	}
	if len(q.ProjectIDs) == 0 {
		for _, id := range p.ProjectIDs() {
			if p.Has(id, readRoles...) {
				q.ProjectIDs = append(q.ProjectIDs, id)
			}
		}
		if len(q.ProjectIDs) == 0 {
			return page.Page[Inspection]{}, apperr.Forbidden("your roles do not allow reading inspections")
		}
	}
	return s.store.ListInspections(ctx, q, req)
}

func inspectionID(i Inspection) uuid.UUID { return i.ID }

// UpdateInspection changes a draft (its author only). Answers merge key by key and are
// checked against the items of the template revision the inspection was made with.
func (s *Service) UpdateInspection(ctx context.Context, id uuid.UUID, in Patch) (*Inspection, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *Inspection
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, _, err := s.loadDraft(ctx, id, in.Version)
		if err != nil {
			return err
		}
		next := *cur
		next.Answers = make(map[string]Answer, len(cur.Answers)+len(in.Answers))
		for k, a := range cur.Answers {
			next.Answers[k] = a
		}
		if in.Notes != nil {
			next.Notes = strings.TrimSpace(*in.Notes)
		}
		if in.BuyerPresent != nil {
			next.BuyerPresent = *in.BuyerPresent
		}
		if in.BuyerName != nil {
			next.BuyerName = trimmedName(in.BuyerName)
		}
		if in.FinishedAt != nil {
			next.FinishedAt = utcMicro(in.FinishedAt)
		}
		var c checker
		checkFields(&c, &next)
		if err := s.mergeAnswers(ctx, &next, in.Answers, &c); err != nil {
			return err
		}
		if err := c.Err(); err != nil {
			return err
		}
		if sameJSON(cur, &next) {
			out = cur
			return nil
		}
		out, err = s.store.UpdateInspection(ctx, &next)
		return s.staleInspection(ctx, id, err)
	})
	return out, err
}

// mergeAnswers applies the patch's answers to next, checking each against its item
// (or, without a template, only its form) and that the photos it names may be used.
func (s *Service) mergeAnswers(ctx context.Context, next *Inspection, patch map[string]*Answer, c *checker) error {
	if len(patch) == 0 {
		return nil
	}
	items, err := s.itemsOf(ctx, next)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	photos := map[uuid.UUID][]string{} // photo → the answers naming it
	for _, key := range keys {
		field := "answers." + key
		a := patch[key]
		if a == nil {
			delete(next.Answers, key)
			continue
		}
		var item *Item
		if items != nil {
			it, ok := items[key]
			if !ok {
				c.Add(field, "exists", "is not an item of the inspection's checklist")
				continue
			}
			item = it
		} else {
			c.key(field, key)
		}
		norm := normalizeAnswer(*a)
		checkAnswer(c, field, &norm, item)
		for _, id := range norm.PhotoIDs {
			photos[id] = append(photos[id], field)
		}
		next.Answers[key] = norm
	}
	if len(next.Answers) > maxAnswers {
		c.Add("answers", "max", fmt.Sprintf("must have at most %d answers", maxAnswers))
	}
	return s.checkPhotos(ctx, next.ProjectID, photos, c)
}

// checkPhotos names the answers whose photos are not usable evidence of the project.
func (s *Service) checkPhotos(ctx context.Context, projectID uuid.UUID, photos map[uuid.UUID][]string, c *checker) error {
	if len(photos) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(photos))
	for id := range photos {
		ids = append(ids, id)
	}
	bad, err := s.store.UnusablePhotos(ctx, projectID, ids)
	if err != nil {
		return err
	}
	var fields []string
	for _, id := range bad {
		for _, f := range photos[id] {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	slices.Sort(fields)
	for _, f := range fields {
		c.Add(f+".photo_ids", "exists", "names a photo that is not in this project, or was rejected or deleted")
	}
	return nil
}

// itemsOf maps the item keys of the inspection's template revision onto the items;
// nil without a template (free-form keys).
func (s *Service) itemsOf(ctx context.Context, i *Inspection) (map[string]*Item, error) {
	if i.TemplateID == nil || i.TemplateRevision == nil {
		return nil, nil
	}
	r, err := s.store.GetRevision(ctx, *i.TemplateID, *i.TemplateRevision)
	if err != nil {
		return nil, apperr.Internal("template revision of inspection %s: %w", i.ID, err)
	}
	items := map[string]*Item{}
	for si := range r.Sections {
		for ii := range r.Sections[si].Items {
			it := &r.Sections[si].Items[ii]
			items[it.Key] = it
		}
	}
	return items, nil
}

func normalizeAnswer(a Answer) Answer {
	a.Result = trimmedPtr(a.Result)
	a.Choice = trimmedPtr(a.Choice)
	a.Text = trimmedPtr(a.Text)
	a.Note = trimmedPtr(a.Note)
	a.AnsweredAt = utcMicro(a.AnsweredAt)
	if len(a.PhotoIDs) == 0 {
		a.PhotoIDs = nil
	}
	return a
}

// checkAnswer checks one answer; item nil means a free-form key, any shape.
func checkAnswer(c *checker, field string, a *Answer, item *Item) {
	if a.Result != nil && !slices.Contains([]string{ResultPass, ResultFail, ResultNA}, *a.Result) {
		c.Add(field+".result", "oneof", "must be one of: pass, fail, na")
	}
	if a.Value != nil && (math.IsNaN(*a.Value) || math.IsInf(*a.Value, 0)) {
		c.Add(field+".value", "number", "must be a finite number")
	}
	if a.Text != nil {
		c.multiline(field+".text", *a.Text, maxAnswerText)
	}
	if a.Note != nil {
		c.multiline(field+".note", *a.Note, maxAnswerNote)
	}
	if len(a.PhotoIDs) > maxAnswerPhotos {
		c.Add(field+".photo_ids", "max", fmt.Sprintf("must have at most %d photos", maxAnswerPhotos))
	}
	for i, id := range a.PhotoIDs {
		if id == uuid.Nil || slices.Index(a.PhotoIDs, id) < i {
			c.Add(fmt.Sprintf("%s.photo_ids[%d]", field, i), "unique", "must be a photo's id, named once")
		}
	}
	if item == nil {
		return
	}
	wrongKind := func(name string) {
		c.Add(field+"."+name, "kind", fmt.Sprintf("does not belong in the answer to a %s item", item.Kind))
	}
	na := a.NotApplicable()
	if a.Result != nil && !na && item.Kind != ItemPassFail {
		c.Add(field+".result", "kind", fmt.Sprintf("a %s item takes only the result na", item.Kind))
	}
	if a.Value != nil && item.Kind != ItemNumber {
		wrongKind("value")
	}
	if a.Text != nil && item.Kind != ItemText {
		wrongKind("text")
	}
	if a.Choice != nil && item.Kind != ItemChoice {
		wrongKind("choice")
	}
	if a.Choice != nil && item.Kind == ItemChoice && !slices.Contains(item.Choices, *a.Choice) {
		c.Add(field+".choice", "oneof", "must be one of the item's choices: "+strings.Join(item.Choices, ", "))
	}
	if na {
		return
	}
	switch {
	case item.Kind == ItemPassFail && a.Result == nil:
		c.Add(field+".result", "required", "a pass_fail item needs result pass, fail or na")
	case item.Kind == ItemNumber && a.Value == nil:
		c.Add(field+".value", "required", "a number item needs a value (or result na)")
	case item.Kind == ItemText && (a.Text == nil || *a.Text == ""):
		c.Add(field+".text", "required", "a text item needs text (or result na)")
	case item.Kind == ItemChoice && a.Choice == nil:
		c.Add(field+".choice", "required", "a choice item needs a choice (or result na)")
	case item.Kind == ItemPhoto && len(a.PhotoIDs) == 0:
		c.Add(field+".photo_ids", "required", "a photo item needs at least one photo (or result na)")
	}
}

// SubmitInspection freezes a draft's answers (its author only). Required items must be
// answered and items that need a photo must name one. The inspection's draft defects
// become normal defects in the same transaction. Submitting again what is already
// submitted answers the inspection as it is: the phone retried.
func (s *Service) SubmitInspection(ctx context.Context, id uuid.UUID, in Submit) (*Inspection, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *Inspection
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		if cur.State == StateSubmitted && cur.InspectorID == p.UserID {
			out = cur
			return nil
		}
		if err := checkDraft(cur, in.Version); err != nil {
			return err
		}
		next := *cur
		if in.FinishedAt != nil {
			next.FinishedAt = utcMicro(in.FinishedAt)
		}
		var c checker
		checkFields(&c, &next)
		if err := s.checkComplete(ctx, &next, &c); err != nil {
			return err
		}
		if err := c.Err(); err != nil {
			return err
		}
		now := serverNow()
		next.State, next.SubmittedAt = StateSubmitted, &now
		if out, err = s.store.UpdateInspection(ctx, &next); err != nil {
			return s.staleInspection(ctx, id, err)
		}
		_, err = s.store.PublishDraftDefects(ctx, id, p.UserID)
		return err
	})
	return out, err
}

// checkComplete names every required item without an answer and every answered item
// that needs a photo and has none; and the answers whose photos were rejected since.
func (s *Service) checkComplete(ctx context.Context, i *Inspection, c *checker) error {
	if i.TemplateID != nil && i.TemplateRevision != nil {
		r, err := s.store.GetRevision(ctx, *i.TemplateID, *i.TemplateRevision)
		if err != nil {
			return apperr.Internal("template revision of inspection %s: %w", i.ID, err)
		}
		for _, sec := range r.Sections {
			for _, it := range sec.Items {
				field := "answers." + it.Key
				a, ok := i.Answers[it.Key]
				switch {
				case !ok && it.Required:
					c.Add(field, "required", "must be answered before the inspection is submitted")
				case !ok || a.NotApplicable():
				case it.PhotoRequired && len(a.PhotoIDs) == 0:
					c.Add(field+".photo_ids", "required", "needs at least one photo before the inspection is submitted")
				}
			}
		}
	}
	photos := map[uuid.UUID][]string{}
	for key, a := range i.Answers {
		for _, id := range a.PhotoIDs {
			photos[id] = append(photos[id], "answers."+key)
		}
	}
	return s.checkPhotos(ctx, i.ProjectID, photos, c)
}

// CloseInspection closes a submitted inspection: its inspector, or a supervisor or
// admin of the project. Closing what is already closed answers it as it is.
func (s *Service) CloseInspection(ctx context.Context, id uuid.UUID, version int) (*Inspection, error) {
	if err := requireVersion(version); err != nil {
		return nil, err
	}
	var out *Inspection
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		if cur.InspectorID != p.UserID && !p.Has(cur.ProjectID, authz.RoleAdmin, authz.RoleSupervisor) {
			return apperr.Forbidden("only the inspector or a supervisor may close an inspection")
		}
		switch {
		case cur.State == StateClosed:
			out = cur
			return nil
		case cur.State != StateSubmitted:
			return apperr.Conflict("inspection-not-submitted", "only a submitted inspection may be closed; submit the draft first", cur)
		case cur.Version != version:
			return apperr.VersionConflict(cur)
		}
		next := *cur
		now := serverNow()
		next.State, next.ClosedAt = StateClosed, &now
		out, err = s.store.UpdateInspection(ctx, &next)
		return s.staleInspection(ctx, id, err)
	})
	return out, err
}

// DeleteInspection discards a draft (its author only) and the draft defects found in it.
func (s *Service) DeleteInspection(ctx context.Context, id uuid.UUID, version int) error {
	if err := requireVersion(version); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		_, p, err := s.loadDraft(ctx, id, version)
		if err != nil {
			return err
		}
		if err := s.store.DeleteInspection(ctx, id, version); err != nil {
			return s.staleInspection(ctx, id, err)
		}
		_, err = s.store.DiscardDraftDefects(ctx, id, p.UserID)
		return err
	})
}

func (s *Service) staleInspection(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, err := s.store.GetInspection(ctx, id, NoLock)
	if err != nil {
		return err
	}
	return apperr.VersionConflict(cur)
}

// ---- helpers shared by templates and inspections

// serverNow is the server's time as the database stores it (microseconds).
func serverNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// utcMicro puts a device time in UTC at the database's precision, so a retry compares equal.
func utcMicro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

func trimmedPtr(v *string) *string {
	if v == nil {
		return nil
	}
	t := strings.TrimSpace(*v)
	return &t
}

// trimmedName trims a nullable name; an empty one is no name.
func trimmedName(v *string) *string {
	t := trimmedPtr(v)
	if t == nil || *t == "" {
		return nil
	}
	return t
}

// sameJSON compares two records as the client would see them.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// idExists answers a create whose client-chosen id is taken by a different record;
// current is nil when the caller may not see that record.
func idExists(current any) error {
	return apperr.Conflict("id-exists", "a record with this id already exists with other fields", current)
}

func requireVersion(v int) error { return apperr.RequireVersion(v) }

// checker collects every field error of one input, so the client sees them all at once.
type checker struct{ apperr.Fields }

// text checks a one-line string of minLen (0 or 1) to maxLen characters.
func (c *checker) text(field, v string, minLen, maxLen int) {
	c.Text(field, v, minLen > 0, maxLen, false)
}

// multiline checks free text, where line breaks and tabs are fine.
func (c *checker) multiline(field, v string, maxLen int) {
	c.Text(field, v, false, maxLen, true)
}

func (c *checker) key(field, v string) {
	if !keyPattern.MatchString(v) {
		c.Add(field, "pattern", "must be 1 to 64 of a-z, 0-9, '_', '.', '-'")
	}
}
