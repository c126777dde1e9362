package offline

import (
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
)

// Scope is who is pulling: the caller and their roles per project, as they are now.
type Scope struct {
	UserID         uuid.UUID
	OrganizationID uuid.UUID
	Projects       map[uuid.UUID][]authz.Role
}

// ScopeOf takes the caller's scope from their principal.
func ScopeOf(p *authz.Principal) Scope {
	return Scope{UserID: p.UserID, OrganizationID: p.OrganizationID, Projects: p.Projects}
}

// ProjectIDs lists the caller's projects in a stable order.
func (s Scope) ProjectIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(s.Projects))
	for id := range s.Projects {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// Grants lists which of projects let the caller see t, grouped by what they see there:
// Full holds the projects where a role sees every row, and Where maps each narrower
// predicate onto the projects where it applies (a caller with several roles in one
// project sees the union).
type Grants struct {
	Full  []uuid.UUID
	Where map[string][]uuid.UUID
}

// Empty reports that the caller sees nothing of the type in those projects.
func (g Grants) Empty() bool { return len(g.Full) == 0 && len(g.Where) == 0 }

// GrantsFor computes the caller's grants on t in projects (all their projects when nil).
func (s Scope) GrantsFor(t *RecordType, projects []uuid.UUID) Grants {
	if projects == nil {
		projects = s.ProjectIDs()
	}
	g := Grants{Where: map[string][]uuid.UUID{}}
	for _, p := range projects {
		full := false
		var narrow []string
		for _, role := range s.Projects[p] {
			rs, ok := t.Roles[role]
			if !ok {
				continue
			}
			if rs.Where == "" {
				full = true
				break
			}
			narrow = append(narrow, rs.Where)
		}
		if full {
			g.Full = append(g.Full, p)
			continue
		}
		for _, w := range narrow {
			g.Where[w] = append(g.Where[w], p)
		}
	}
	if len(g.Where) == 0 {
		g.Where = nil
	}
	return g
}

// roleKeys is the scope as a sorted list of "project:role", the form a cursor keeps.
func (s Scope) roleKeys() []string {
	var out []string
	for p, roles := range s.Projects {
		for _, r := range roles {
			out = append(out, p.String()+":"+string(r))
		}
	}
	slices.Sort(out)
	return out
}

// changedProjects compares the scope a cursor was served with (as role keys) against
// s: added are projects the caller did not belong to, changed are projects whose roles
// changed or that the caller left.
func (s Scope) changedProjects(served []string) (added, changed []uuid.UUID) {
	before := map[uuid.UUID][]string{}
	for _, k := range served {
		p, role, ok := strings.Cut(k, ":")
		id, err := uuid.Parse(p)
		if !ok || err != nil {
			continue
		}
		before[id] = append(before[id], role)
	}
	now := map[uuid.UUID][]string{}
	for p, roles := range s.Projects {
		for _, r := range roles {
			now[p] = append(now[p], string(r))
		}
	}
	for p, roles := range now {
		old, had := before[p]
		switch {
		case !had:
			added = append(added, p)
		case !sameSet(old, roles):
			changed = append(changed, p)
		}
	}
	for p := range before {
		if _, still := now[p]; !still {
			changed = append(changed, p)
		}
	}
	sortIDs(added)
	sortIDs(changed)
	return added, changed
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sortIDs(ids []uuid.UUID) {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
}
