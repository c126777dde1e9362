package org

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

func (p *Project) check() error {
	var c checker
	c.code("code", p.Code)
	c.name("name", p.Name)
	c.text("city", p.City, 0, maxCityLen)
	c.timezone("timezone", p.Timezone)
	return c.err()
}

// CreateProject adds a project to the caller's organization (organization admins only).
// created is false when a retry found the same project already made with the client's id.
func (s *Service) CreateProject(ctx context.Context, in NewProject) (_ *Project, created bool, _ error) {
	caller, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, false, err
	}
	want := Project{
		OrganizationID: caller.OrganizationID,
		Code:           strings.TrimSpace(in.Code),
		Name:           strings.TrimSpace(in.Name),
		City:           strings.TrimSpace(in.City),
		Timezone:       strings.TrimSpace(in.Timezone),
	}
	if want.Timezone == "" {
		want.Timezone = defaultTZ
	}
	var c checker
	checkClientID(&c, in.ID)
	if err := c.err(); err != nil {
		return nil, false, err
	}
	if err := want.check(); err != nil {
		return nil, false, err
	}
	return createOnce(ctx, s.tx, s.projects, in.ID, nil,
		func(cur *Project) (bool, bool) {
			visible := cur.OrganizationID == caller.OrganizationID
			return visible && cur.Code == want.Code && cur.Name == want.Name && cur.City == want.City && cur.Timezone == want.Timezone, visible
		},
		func(ctx context.Context, id uuid.UUID) (*Project, error) {
			p := want
			p.ID = id
			return s.store.InsertProject(ctx, &p)
		})
}

// GetProject returns a project the caller belongs to.
func (s *Service) GetProject(ctx context.Context, id uuid.UUID) (*Project, error) {
	return s.projects.load(ctx, id, NoLock)
}

// ListProjects lists the projects the caller belongs to, in id order.
func (s *Service) ListProjects(ctx context.Context, req page.Request) (page.Page[Project], error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return page.Page[Project]{}, err
	}
	ids := caller.ProjectIDs()
	if len(ids) == 0 {
		return page.Page[Project]{Items: []Project{}}, nil
	}
	return s.store.ListProjects(ctx, ids, req)
}

// UpdateProject changes a project (project admins).
func (s *Service) UpdateProject(ctx context.Context, id uuid.UUID, in ProjectPatch) (*Project, error) {
	return update(ctx, s.tx, s.projects, id, in.Version,
		func(_ context.Context, cur *Project) (*Project, error) {
			next := *cur
			setTrimmed(&next.Code, in.Code)
			setTrimmed(&next.Name, in.Name)
			setTrimmed(&next.City, in.City)
			setTrimmed(&next.Timezone, in.Timezone)
			if err := next.check(); err != nil {
				return nil, err
			}
			if next == *cur {
				return cur, nil
			}
			return &next, nil
		},
		s.store.UpdateProject)
}

// DeleteProject soft-deletes a project that no longer has buildings, unit types or zones.
func (s *Service) DeleteProject(ctx context.Context, id uuid.UUID, version int) error {
	return remove(ctx, s.tx, s.projects, id, version,
		func(ctx context.Context) error {
			inUse, err := s.store.ProjectInUse(ctx, id)
			if err != nil {
				return err
			}
			if inUse {
				return apperr.Conflict("project-not-empty", "the project still has buildings, unit types or zones; delete them first", nil)
			}
			return nil
		},
		s.store.DeleteProject)
}

// setTrimmed sets *dst to the trimmed value of v when the patch names it.
func setTrimmed(dst *string, v *string) {
	if v != nil {
		*dst = strings.TrimSpace(*v)
	}
}
