package offline

import (
	"fmt"
	"slices"

	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/workorder"
)

// Level says where a record type's rows live, which decides who may see them at all.
type Level int

// The levels of a record type.
const (
	// ProjectLevel rows carry project_id: members of that project may see them.
	ProjectLevel Level = iota
	// OrgLevel rows carry organization_id (NULL: built-in rows every organization sees).
	OrgLevel
	// OrgOrProjectLevel rows carry organization_id and project_id (NULL: every project
	// of the organization), like checklist templates.
	OrgOrProjectLevel
	// ProjectsTable is the projects table itself: its id is the project.
	ProjectsTable
	// BuiltinLevel rows are the same for everyone (defect severities).
	BuiltinLevel
)

// Field is one JSON field of a synced record and the SQL that reads it from the row,
// which the store aliases as r.
type Field struct {
	JSON string
	SQL  string
}

// RoleScope is what one role sees of a record type inside a project it belongs to.
type RoleScope struct {
	// Where is a SQL predicate over r; @user is the caller's id. "" means every row of
	// the project.
	Where string
}

// RecordType declares how one kind of record syncs: a new type joins by adding itself
// to Registry. The pull reads it through these declarations alone.
type RecordType struct {
	// Name is the type's name in the protocol ("defect") and in sync_changes.record_type.
	Name string
	// Table is the table it is read from; Key its primary key column (id, or code for
	// the code lists), sent as the record's id.
	Table string
	Key   string
	Level Level
	// SoftDelete: the table has deleted_at; a row with it set is a tombstone.
	SoftDelete bool
	// Fields are sent for each record, id and version included where the row has them.
	Fields []Field
	// Roles maps each role that may see the type onto what it sees; a role not named
	// sees nothing of it.
	Roles map[authz.Role]RoleScope
	// PrivateTo, when set, is SQL over r giving the user a row is private to (NULL when
	// it is not private): drafts are seen only by their author, whatever the role.
	PrivateTo string
	// Shape rewrites a record after it is read (masking personal data), or nil.
	Shape func(rec map[string]any)
}

var (
	everyone  = rolesSee(authz.Roles...)
	handover  = rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador, authz.RoleEngineer)
	managers  = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor}
	ownedByMe = RoleScope{Where: "r.owner_id = @user"}
)

func rolesSee(roles ...authz.Role) map[authz.Role]RoleScope {
	m := make(map[authz.Role]RoleScope, len(roles))
	for _, r := range roles {
		m[r] = RoleScope{}
	}
	return m
}

func with(base map[authz.Role]RoleScope, role authz.Role, s RoleScope) map[authz.Role]RoleScope {
	m := make(map[authz.Role]RoleScope, len(base)+1)
	for k, v := range base {
		m[k] = v
	}
	m[role] = s
	return m
}

// cols lists plain columns sent under their own names.
func cols(names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = Field{JSON: n, SQL: "r." + n}
	}
	return out
}

func fields(groups ...[]Field) []Field {
	return slices.Concat(groups...)
}

// Registry holds every record type that syncs, in the order an initial pull sends them
// (reference data first, so records arrive after what they point at).
var Registry = []*RecordType{
	{
		Name: "project", Table: "projects", Key: "id", Level: ProjectsTable, SoftDelete: true,
		Fields: cols("id", "code", "name", "city", "timezone", "version", "created_at", "updated_at"),
		Roles:  everyone,
	},
	{
		Name: "building", Table: "buildings", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "code", "name", "floors", "version", "created_at", "updated_at"),
		Roles:  everyone,
	},
	{
		Name: "unit_type", Table: "unit_types", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: fields(cols("id", "project_id", "code", "name", "floor_plan_attachment_id", "version", "created_at", "updated_at"),
			[]Field{{JSON: "rooms", SQL: `(SELECT coalesce(json_agg(json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'position', x.position) ORDER BY x.position, x.code), '[]'::json) FROM unit_type_rooms x WHERE x.unit_type_id = r.id)`}}),
		Roles: handover,
	},
	{
		Name: "unit", Table: "units", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "building_id", "unit_type_id", "number", "floor", "handover_date", "version", "created_at", "updated_at"),
		Roles:  handover,
	},
	{
		Name: "zone", Table: "zones", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "code", "name", "kind", "version", "created_at", "updated_at"),
		Roles:  everyone,
	},
	{
		Name: "checklist_template", Table: "checklist_templates", Key: "id", Level: OrgOrProjectLevel, SoftDelete: true,
		Fields: fields(cols("id", "project_id", "name", "kinds", "revision", "version", "created_at", "updated_at"),
			[]Field{{JSON: "sections", SQL: `(SELECT v.sections FROM checklist_template_revisions v WHERE v.template_id = r.id AND v.revision = r.revision)`}}),
		Roles: handover,
	},
	{
		Name: "defect_category", Table: "defect_categories", Key: "code", Level: OrgLevel,
		Fields: cols("code", "label_en", "label_zh", "counts_as_leak", "position", "updated_at"),
		Roles:  handover,
	},
	{
		Name: "defect_severity", Table: "defect_severities", Key: "code", Level: BuiltinLevel,
		Fields: cols("code", "label_en", "label_zh", "rank", "default_due_hours", "updated_at"),
		Roles:  handover,
	},
	{
		Name: "work_type", Table: "work_types", Key: "code", Level: OrgLevel,
		Fields: cols("code", "label_en", "label_zh", "position", "updated_at"),
		Roles:  everyone,
	},
	{
		// Engineers do site acceptance themselves: they get the inspections they made.
		Name: "inspection", Table: "inspections", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "building_id", "unit_id", "zone_id", "kind", "template_id", "template_revision",
			"inspector_id", "buyer_present", "buyer_name", "notes", "answers", "state", "started_at", "finished_at",
			"submitted_at", "closed_at", "version", "created_at", "updated_at"),
		Roles:     with(rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador), authz.RoleEngineer, RoleScope{Where: "r.inspector_id = @user"}),
		PrivateTo: "CASE WHEN r.state = 'draft' THEN r.inspector_id END",
	},
	{
		Name: "defect", Table: "defects", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "building_id", "unit_id", "zone_id", "room", "plan_attachment_id", "pin_x", "pin_y",
			"category", "severity", "description", "inspection_id", "item_key", "draft", "status", "owner_id", "due_at",
			"reported_by", "device_reported_at", "assigned_at", "accepted_at", "fixed_at", "first_fixed_at", "verified_at",
			"closed_at", "reopen_count", "cancel_reason", "version", "created_at", "updated_at"),
		Roles:     with(rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador), authz.RoleEngineer, ownedByMe),
		PrivateTo: "CASE WHEN r.draft THEN r.reported_by END",
	},
	{
		Name: "defect_comment", Table: "defect_comments", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "defect_id", "project_id", "author_id", "body", "device_at", "version", "created_at", "updated_at"),
		Roles: with(rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador), authz.RoleEngineer,
			RoleScope{Where: "EXISTS (SELECT 1 FROM defects d WHERE d.id = r.defect_id AND d.owner_id = @user)"}),
		PrivateTo: "(SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = r.defect_id)",
	},
	{
		Name: "signoff", Table: "signoffs", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "unit_id", "inspection_id", "outcome", "refusal_reason", "buyer_name",
			"signature_attachment_id", "recorded_by", "device_signed_at", "snapshot", "version", "created_at", "updated_at"),
		Roles: rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador),
	},
	{
		// Metadata and state only: the app fetches URLs with GET /v1/attachments/{id}.
		// Engineers and guards get the photos of what they see, and their own.
		Name: "attachment", Table: "attachments", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "owner_type", "owner_id", "purpose", "content_type", "size", "state",
			"uploaded_by", "device_captured_at", "width", "height", "exif_taken_at", "derivatives_state", "received_at",
			"version", "created_at", "updated_at"),
		Roles: with(with(rolesSee(authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador),
			authz.RoleEngineer, RoleScope{Where: `(r.uploaded_by = @user
				OR (r.owner_type = 'defect' AND EXISTS (SELECT 1 FROM defects d WHERE d.id = r.owner_id AND d.owner_id = @user))
				OR (r.owner_type = 'work_order' AND EXISTS (SELECT 1 FROM work_orders w WHERE w.id = r.owner_id AND w.owner_id = @user))
				OR (r.owner_type = 'inspection' AND EXISTS (SELECT 1 FROM inspections i WHERE i.id = r.owner_id AND i.inspector_id = @user))
				OR r.owner_type IN ('project', 'building', 'unit', 'unit_type', 'zone'))`}),
			authz.RoleGuard, RoleScope{Where: `(r.uploaded_by = @user
				OR (r.owner_type = 'work_order' AND EXISTS (SELECT 1 FROM work_orders w WHERE w.id = r.owner_id AND (w.zone_id IS NOT NULL OR w.owner_id = @user OR w.created_by = @user)))
				OR r.owner_type IN ('project', 'building', 'zone'))`}),
		PrivateTo: `CASE r.owner_type
			WHEN 'defect' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = r.owner_id)
			WHEN 'inspection' THEN (SELECT CASE WHEN i.state = 'draft' THEN i.inspector_id END FROM inspections i WHERE i.id = r.owner_id)
			END`,
	},
	{
		// Reporters are masked as in lists: the full contact is fetched one by one (and logged).
		// Guards see the work of their zones, and what they raised or own.
		Name: "work_order", Table: "work_orders", Key: "id", Level: ProjectLevel, SoftDelete: true,
		Fields: cols("id", "project_id", "building_id", "unit_id", "zone_id", "location_detail", "work_type", "source",
			"priority", "title", "description", "reporter_name", "reporter_phone", "reported_at", "defect_id", "status",
			"owner_id", "waiting_customer", "created_by", "assigned_at", "accepted_at", "contacted_at", "on_site_at",
			"feedback_at", "resolved_at", "confirmed_at", "closed_at", "cancelled_at", "reopen_count", "version",
			"created_at", "updated_at"),
		Roles: with(with(rolesSee(managers...), authz.RoleEngineer, ownedByMe), authz.RoleGuard,
			RoleScope{Where: "(r.zone_id IS NOT NULL OR r.owner_id = @user OR r.created_by = @user)"}),
		Shape: maskReporter,
	},
}

// maskReporter masks a work order's reporter exactly as the work order list does.
func maskReporter(rec map[string]any) {
	if s, ok := rec["reporter_name"].(string); ok {
		rec["reporter_name"] = workorder.MaskName(s)
	}
	if s, ok := rec["reporter_phone"].(string); ok {
		rec["reporter_phone"] = workorder.MaskPhone(s)
	}
	rec["reporter_masked"] = true
}

// Lookup returns the record type named name.
func Lookup(name string) (*RecordType, bool) {
	for _, t := range Registry {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// Names lists the synced record types in registry order.
func Names() []string {
	out := make([]string, len(Registry))
	for i, t := range Registry {
		out[i] = t.Name
	}
	return out
}

func init() {
	seen := map[string]bool{}
	for _, t := range Registry {
		if seen[t.Name] || t.Table == "" || t.Key == "" || len(t.Roles) == 0 {
			panic(fmt.Sprintf("offline: bad record type %q", t.Name))
		}
		seen[t.Name] = true
	}
}
