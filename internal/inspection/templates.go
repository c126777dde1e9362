package inspection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// Limits of a template.
const (
	maxSections      = 50
	maxSectionItems  = 200
	maxTemplateItems = 1000
	maxChoices       = 50
	maxChoiceLen     = 100
	maxUnitLen       = 20
	maxTitleLen      = 200
	maxNameLen       = 200
)

// keyPattern is the form of section and item keys: stable ids that answers, defects and
// reports refer to, so they stay plain ASCII whatever language the titles are in.
var keyPattern = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// templateAccess checks the caller may read (or, with write, change) a template of
// the organization orgID, for one project or (projectID nil) the whole organization.
// A project's template follows the project's membership: its admins change it, every
// member but its guards reads it. An organization-wide template is changed by the
// organization's admins and read by anyone who reads handover work in some project.
func templateAccess(ctx context.Context, orgID uuid.UUID, projectID *uuid.UUID, write bool) error {
	if projectID != nil {
		roles := readRoles
		if write {
			roles = []authz.Role{authz.RoleAdmin}
		}
		_, err := authz.Require(ctx, "checklist template", *projectID, roles...)
		return err
	}
	p, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	switch {
	case p.OrganizationID != orgID:
		return apperr.NotFound("checklist template")
	case p.OrgAdmin:
		return nil
	case write:
		return apperr.Forbidden("only an organization admin may change organization-wide templates")
	case !readsHandoverSomewhere(p):
		return apperr.Forbidden("your roles do not allow reading checklist templates")
	}
	return nil
}

// readsHandoverSomewhere reports whether the caller holds a role that reads handover
// work in at least one project.
func readsHandoverSomewhere(p *authz.Principal) bool {
	for id := range p.Projects {
		if p.Has(id, readRoles...) {
			return true
		}
	}
	return false
}

// normalizeSections trims what the client sent; nil stays nil (a patch without sections).
func normalizeSections(in []Section) []Section {
	if in == nil {
		return nil
	}
	out := make([]Section, len(in))
	for i, sec := range in {
		out[i] = Section{Key: strings.TrimSpace(sec.Key), Title: strings.TrimSpace(sec.Title), Items: make([]Item, len(sec.Items))}
		for j, it := range sec.Items {
			it.Key, it.Title, it.Unit = strings.TrimSpace(it.Key), strings.TrimSpace(it.Title), strings.TrimSpace(it.Unit)
			if it.Choices != nil {
				choices := make([]string, len(it.Choices))
				for k, ch := range it.Choices {
					choices[k] = strings.TrimSpace(ch)
				}
				it.Choices = choices
			}
			if it.Defect != nil {
				d := DefectPreset{Category: strings.TrimSpace(it.Defect.Category), Severity: strings.TrimSpace(it.Defect.Severity)}
				it.Defect = &d
			}
			out[i].Items[j] = it
		}
	}
	return out
}

func normalizeKinds(in []Kind) []Kind {
	if in == nil {
		return nil
	}
	out := make([]Kind, len(in))
	for i, k := range in {
		out[i] = Kind(strings.TrimSpace(string(k)))
	}
	return out
}

// checkTemplate validates a template's fields, naming each field by its path in the
// request (sections[0].items[2].kind).
func (s *Service) checkTemplate(ctx context.Context, t *Template, c *checker) error {
	c.text("name", t.Name, 1, maxNameLen)
	for i, k := range t.Kinds {
		field := fmt.Sprintf("kinds[%d]", i)
		switch {
		case !k.Valid():
			c.Add(field, "oneof", "must be one of: "+kindList())
		case slices.Index(t.Kinds, k) < i:
			c.Add(field, "unique", "is listed twice")
		}
	}
	return s.checkSections(ctx, t.OrganizationID, t.Sections, c)
}

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func (s *Service) checkSections(ctx context.Context, orgID uuid.UUID, sections []Section, c *checker) error {
	switch {
	case len(sections) == 0:
		c.Add("sections", "required", "must have at least one section")
		return nil
	case len(sections) > maxSections:
		c.Add("sections", "max", fmt.Sprintf("must have at most %d sections", maxSections))
		return nil
	}
	categories, severities, err := s.presetCodes(ctx, orgID, sections)
	if err != nil {
		return err
	}
	sectionKeys := map[string]bool{}
	itemKeys := map[string]string{} // key → the field that first used it
	total := 0
	for i, sec := range sections {
		at := fmt.Sprintf("sections[%d]", i)
		c.key(at+".key", sec.Key)
		if sectionKeys[sec.Key] && sec.Key != "" {
			c.Add(at+".key", "unique", "is the key of another section")
		}
		sectionKeys[sec.Key] = true
		c.text(at+".title", sec.Title, 1, maxTitleLen)
		switch {
		case len(sec.Items) == 0:
			c.Add(at+".items", "required", "must have at least one item")
		case len(sec.Items) > maxSectionItems:
			c.Add(at+".items", "max", fmt.Sprintf("must have at most %d items", maxSectionItems))
		}
		total += len(sec.Items)
		for j := range sec.Items {
			it := &sec.Items[j]
			itemAt := fmt.Sprintf("%s.items[%d]", at, j)
			c.key(itemAt+".key", it.Key)
			if first, dup := itemKeys[it.Key]; dup && it.Key != "" {
				c.Add(itemAt+".key", "unique", "is the key of another item ("+first+")")
			} else {
				itemKeys[it.Key] = itemAt + ".key"
			}
			checkItem(c, itemAt, it, categories, severities)
		}
	}
	if total > maxTemplateItems {
		c.Add("sections", "max", fmt.Sprintf("must have at most %d items in all", maxTemplateItems))
	}
	return nil
}

func checkItem(c *checker, at string, it *Item, categories, severities []string) {
	c.text(at+".title", it.Title, 1, maxTitleLen)
	if !slices.Contains(ItemKinds, it.Kind) {
		c.Add(at+".kind", "oneof", "must be one of: pass_fail, number, text, choice, photo")
	}
	switch {
	case it.Unit != "" && it.Kind != ItemNumber:
		c.Add(at+".unit", "kind", "is only for number items")
	case it.Unit != "":
		c.text(at+".unit", it.Unit, 1, maxUnitLen)
	}
	switch {
	case it.Kind == ItemChoice && len(it.Choices) < 2:
		c.Add(at+".choices", "required", "a choice item needs at least two choices")
	case it.Kind != ItemChoice && it.Choices != nil:
		c.Add(at+".choices", "kind", "is only for choice items")
	case len(it.Choices) > maxChoices:
		c.Add(at+".choices", "max", fmt.Sprintf("must have at most %d choices", maxChoices))
	}
	if it.Kind == ItemChoice && len(it.Choices) <= maxChoices {
		for k, ch := range it.Choices {
			field := fmt.Sprintf("%s.choices[%d]", at, k)
			c.text(field, ch, 1, maxChoiceLen)
			if slices.Index(it.Choices, ch) < k {
				c.Add(field, "unique", "is listed twice")
			}
		}
	}
	if d := it.Defect; d != nil {
		switch {
		case d.Category == "":
			c.Add(at+".defect.category", "required", "is required")
		case !slices.Contains(categories, d.Category):
			c.Add(at+".defect.category", "exists", "is not a defect category of this organization")
		}
		switch {
		case d.Severity == "":
			c.Add(at+".defect.severity", "required", "is required")
		case !slices.Contains(severities, d.Severity):
			c.Add(at+".defect.severity", "exists", "is not a defect severity")
		}
	}
}

// presetCodes reads the category and severity codes when some item presets a defect.
func (s *Service) presetCodes(ctx context.Context, orgID uuid.UUID, sections []Section) (categories, severities []string, _ error) {
	presets := false
	for _, sec := range sections {
		for _, it := range sec.Items {
			presets = presets || it.Defect != nil
		}
	}
	if !presets {
		return nil, nil, nil
	}
	categories, err := s.store.KnownCategories(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	severities, err = s.store.KnownSeverities(ctx)
	return categories, severities, err
}

func sameSections(a, b []Section) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// CreateTemplate makes a checklist template: for a project (its admins) or, without a
// project, for the whole organization (organization admins). It starts at revision 1.
func (s *Service) CreateTemplate(ctx context.Context, in NewTemplate) (out *Template, created bool, _ error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	want := Template{
		OrganizationID: p.OrganizationID, ProjectID: in.ProjectID, Name: strings.TrimSpace(in.Name),
		Kinds: normalizeKinds(in.Kinds), Sections: normalizeSections(in.Sections), Revision: 1, CreatedBy: p.UserID,
	}
	if want.Kinds == nil {
		want.Kinds = []Kind{}
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.templateScope(ctx, p, &want); err != nil {
			return err
		}
		var c checker
		c.ClientID(in.ID)
		if err := s.checkTemplate(ctx, &want, &c); err != nil {
			return err
		}
		if err := c.Err(); err != nil {
			return err
		}
		if in.ID != nil {
			cur, err := s.store.GetTemplate(ctx, *in.ID, NoLock)
			switch {
			case err == nil:
				if templateAccess(ctx, cur.OrganizationID, cur.ProjectID, false) != nil {
					return idExists(nil)
				}
				if cur.OrganizationID == want.OrganizationID && ids.Same(cur.ProjectID, want.ProjectID) && cur.Name == want.Name &&
					slices.Equal(cur.Kinds, want.Kinds) && sameSections(cur.Sections, want.Sections) {
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
		t := want
		t.ID = id
		out, err = s.store.InsertTemplate(ctx, &t)
		created = err == nil
		return err
	})
	return out, created, err
}

// templateScope checks where a new template goes: a project the caller administers, or
// the caller's organization when the caller administers it. It sets the organization.
func (s *Service) templateScope(ctx context.Context, p *authz.Principal, t *Template) error {
	if t.ProjectID == nil {
		if !p.OrgAdmin {
			return apperr.Forbidden("only an organization admin may make organization-wide templates; name a project_id")
		}
		return nil
	}
	notVisible := apperr.Invalid("the request has invalid fields",
		apperr.FieldError{Field: "project_id", Rule: "exists", Message: "is not a project you belong to"})
	if !p.Has(*t.ProjectID) {
		return notVisible
	}
	orgID, err := s.store.ProjectOrganization(ctx, *t.ProjectID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return notVisible
	case err != nil:
		return err
	}
	if !p.Has(*t.ProjectID, authz.RoleAdmin) {
		return apperr.Forbidden("only the project's admins may make its templates")
	}
	t.OrganizationID = orgID
	return nil
}

// GetTemplate returns a template with its current revision's sections.
func (s *Service) GetTemplate(ctx context.Context, id uuid.UUID) (*Template, error) {
	t, err := s.store.GetTemplate(ctx, id, NoLock)
	if err != nil {
		return nil, err
	}
	if err := templateAccess(ctx, t.OrganizationID, t.ProjectID, false); err != nil {
		return nil, err
	}
	return t, nil
}

// GetTemplateRevision returns one revision of a template. Revisions stay readable after
// the template is deleted: inspections made with them still refer to them.
func (s *Service) GetTemplateRevision(ctx context.Context, id uuid.UUID, revision int) (*Revision, error) {
	if revision < 1 {
		return nil, apperr.NotFound("template revision")
	}
	r, err := s.store.GetRevision(ctx, id, revision)
	if err != nil {
		return nil, err
	}
	if err := templateAccess(ctx, r.OrganizationID, r.ProjectID, false); err != nil {
		return nil, err
	}
	return r, nil
}

// ListTemplates lists the organization-wide templates and, with a project, that
// project's own, in id order.
func (s *Service) ListTemplates(ctx context.Context, projectID *uuid.UUID, req page.Request) (page.Page[Template], error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return page.Page[Template]{}, err
	}
	orgID := p.OrganizationID
	if projectID != nil {
		if _, err := authz.Require(ctx, "project", *projectID, readRoles...); err != nil {
			return page.Page[Template]{}, err
		}
		if orgID, err = s.store.ProjectOrganization(ctx, *projectID); err != nil {
			return page.Page[Template]{}, err
		}
	} else if !p.OrgAdmin && !readsHandoverSomewhere(p) {
		return page.Page[Template]{}, apperr.Forbidden("your roles do not allow reading checklist templates")
	}
	return s.store.ListTemplates(ctx, orgID, projectID, req)
}

// UpdateTemplate changes a template. New sections become a new revision; inspections
// made with earlier revisions keep theirs.
func (s *Service) UpdateTemplate(ctx context.Context, id uuid.UUID, in TemplatePatch) (*Template, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *Template
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.templateToChange(ctx, id, in.Version)
		if err != nil {
			return err
		}
		next := *cur
		if in.Name != nil {
			next.Name = strings.TrimSpace(*in.Name)
		}
		if in.Kinds != nil {
			next.Kinds = normalizeKinds(in.Kinds)
		}
		if in.Sections != nil {
			next.Sections = normalizeSections(in.Sections)
		}
		var c checker
		if err := s.checkTemplate(ctx, &next, &c); err != nil {
			return err
		}
		if err := c.Err(); err != nil {
			return err
		}
		newRevision := !sameSections(cur.Sections, next.Sections)
		if !newRevision && next.Name == cur.Name && slices.Equal(next.Kinds, cur.Kinds) {
			out = cur
			return nil
		}
		if newRevision {
			next.Revision = cur.Revision + 1
		}
		out, err = s.store.UpdateTemplate(ctx, &next, newRevision, p.UserID)
		return s.staleTemplate(ctx, id, err)
	})
	return out, err
}

// DeleteTemplate soft-deletes a template; inspections made with it keep their revision.
func (s *Service) DeleteTemplate(ctx context.Context, id uuid.UUID, version int) error {
	if err := requireVersion(version); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.templateToChange(ctx, id, version); err != nil {
			return err
		}
		return s.staleTemplate(ctx, id, s.store.DeleteTemplate(ctx, id, version))
	})
}

// templateToChange reads a template for a change by its admins, locked, at version.
func (s *Service) templateToChange(ctx context.Context, id uuid.UUID, version int) (*Template, error) {
	cur, err := s.store.GetTemplate(ctx, id, ForUpdate)
	if err != nil {
		return nil, err
	}
	if err := templateAccess(ctx, cur.OrganizationID, cur.ProjectID, true); err != nil {
		return nil, err
	}
	if cur.Version != version {
		return nil, apperr.VersionConflict(cur)
	}
	return cur, nil
}

func (s *Service) staleTemplate(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, err := s.store.GetTemplate(ctx, id, NoLock)
	if err != nil {
		return err
	}
	return apperr.VersionConflict(cur)
}
