-- +goose Up
-- Handover work: checklist templates, inspections, defects with their history and
-- comments, buyer sign-offs, and the in-app inbox that notifications are written to.

-- Defect categories and severities are data: an organization may add its own rows
-- (organization_id set); rows with no organization are the built-in ones every
-- organization sees.
CREATE TABLE defect_categories (
  code             text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
  organization_id  uuid REFERENCES organizations(id),
  label_en         text NOT NULL CHECK (length(label_en) BETWEEN 1 AND 100),
  label_zh         text NOT NULL CHECK (length(label_zh) BETWEEN 1 AND 100),
  -- counts_as_leak marks the categories the leak rate (渗漏率) counts.
  counts_as_leak   boolean NOT NULL DEFAULT false,
  position         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX defect_categories_code_key ON defect_categories (COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid), code);
INSERT INTO defect_categories (code, label_en, label_zh, counts_as_leak, position) VALUES
  ('leakage',         'Leakage',           '渗漏',     true,  10),
  ('walls_ceilings',  'Walls and ceilings', '墙面与天花', false, 20),
  ('floors',          'Floors',            '地面',     false, 30),
  ('doors_windows',   'Doors and windows', '门窗',     false, 40),
  ('plumbing',        'Plumbing',          '给排水',   false, 50),
  ('electrical',      'Electrical',        '电气',     false, 60),
  ('hardware',        'Hardware',          '五金',     false, 70),
  ('fixtures',        'Fixtures',          '洁具与设备', false, 80),
  ('other',           'Other',             '其他',     false, 90);

CREATE TABLE defect_severities (
  code                text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
  label_en            text NOT NULL CHECK (length(label_en) BETWEEN 1 AND 100),
  label_zh            text NOT NULL CHECK (length(label_zh) BETWEEN 1 AND 100),
  rank                integer NOT NULL UNIQUE,
  -- default_due_hours is the time to fix from assignment when the project says nothing.
  default_due_hours   integer NOT NULL CHECK (default_due_hours > 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO defect_severities (code, label_en, label_zh, rank, default_due_hours) VALUES
  ('minor',    'Minor',    '一般', 1, 168),
  ('major',    'Major',    '严重', 2, 72),
  ('critical', 'Critical', '紧急', 3, 24);

-- A project's rules for due dates: hours per severity, and whether a defect found before
-- the unit's handover date must be fixed before it.
CREATE TABLE project_defect_rules (
  project_id          uuid PRIMARY KEY REFERENCES projects(id),
  due_hours           jsonb NOT NULL DEFAULT '{}'::jsonb,
  due_before_handover boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  version             integer NOT NULL DEFAULT 1
);

-- Checklist templates. The row holds what is edited; every change of the content
-- makes a new immutable revision, and an inspection keeps the revision it used.
CREATE TABLE checklist_templates (
  id               uuid PRIMARY KEY,
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  project_id       uuid REFERENCES projects(id), -- NULL: every project of the organization
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kinds            text[] NOT NULL DEFAULT '{}', -- the inspection kinds it is meant for
  revision         integer NOT NULL DEFAULT 1,   -- the current revision
  created_by       uuid NOT NULL REFERENCES users(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  version          integer NOT NULL DEFAULT 1,
  deleted_at       timestamptz
);
CREATE INDEX checklist_templates_org_idx ON checklist_templates (organization_id, id) WHERE deleted_at IS NULL;

CREATE TABLE checklist_template_revisions (
  template_id  uuid NOT NULL REFERENCES checklist_templates(id),
  revision     integer NOT NULL CHECK (revision > 0),
  sections     jsonb NOT NULL,
  created_by   uuid NOT NULL REFERENCES users(id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, revision)
);

CREATE TABLE inspections (
  id                 uuid PRIMARY KEY,
  project_id         uuid NOT NULL REFERENCES projects(id),
  building_id        uuid REFERENCES buildings(id),
  unit_id            uuid REFERENCES units(id),
  zone_id            uuid REFERENCES zones(id),
  kind               text NOT NULL CHECK (kind IN ('pre_handover', 'joint_walkthrough', 'handover_acceptance', 'one_year_check', 'site_acceptance')),
  template_id        uuid REFERENCES checklist_templates(id),
  template_revision  integer,
  inspector_id       uuid NOT NULL REFERENCES users(id),
  buyer_present      boolean NOT NULL DEFAULT false,
  buyer_name         text,
  notes              text NOT NULL DEFAULT '',
  -- answers maps an item key onto its answer; each key merges on its own.
  answers            jsonb NOT NULL DEFAULT '{}'::jsonb,
  state              text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'closed')),
  started_at         timestamptz,  -- device time
  finished_at        timestamptz,  -- device time
  submitted_at       timestamptz,  -- server time
  closed_at          timestamptz,  -- server time
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  version            integer NOT NULL DEFAULT 1,
  deleted_at         timestamptz,
  CHECK ((unit_id IS NULL) <> (zone_id IS NULL)),
  CHECK ((template_id IS NULL) = (template_revision IS NULL))
);
CREATE INDEX inspections_project_idx ON inspections (project_id, id) WHERE deleted_at IS NULL;
CREATE INDEX inspections_unit_idx ON inspections (unit_id, id) WHERE deleted_at IS NULL;
CREATE INDEX inspections_inspector_idx ON inspections (inspector_id, state, id) WHERE deleted_at IS NULL;

CREATE TABLE defects (
  id                  uuid PRIMARY KEY,
  project_id          uuid NOT NULL REFERENCES projects(id),
  building_id         uuid REFERENCES buildings(id),
  unit_id             uuid REFERENCES units(id),
  zone_id             uuid REFERENCES zones(id),
  room                text,  -- a room code of the unit's type
  plan_attachment_id  uuid,  -- the floor plan the pin is on
  pin_x               double precision CHECK (pin_x BETWEEN 0 AND 1),
  pin_y               double precision CHECK (pin_y BETWEEN 0 AND 1),
  category            text NOT NULL,
  severity            text NOT NULL REFERENCES defect_severities(code),
  description         text NOT NULL DEFAULT '',
  inspection_id       uuid REFERENCES inspections(id),
  item_key            text,  -- the checklist item that failed
  -- draft: found in an inspection that is still a draft; private to its reporter until
  -- the inspection is submitted.
  draft               boolean NOT NULL DEFAULT false,
  status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'in_progress', 'fixed', 'verified', 'reopened', 'cancelled')),
  owner_id            uuid REFERENCES users(id),
  due_at              timestamptz,
  reported_by         uuid NOT NULL REFERENCES users(id),
  device_reported_at  timestamptz,
  assigned_at         timestamptz,
  accepted_at         timestamptz,
  fixed_at            timestamptz,  -- the last time it was marked fixed
  first_fixed_at      timestamptz,
  verified_at         timestamptz,
  closed_at           timestamptz,  -- verified or cancelled
  reopen_count        integer NOT NULL DEFAULT 0,
  cancel_reason       text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  version             integer NOT NULL DEFAULT 1,
  deleted_at          timestamptz,
  CHECK ((unit_id IS NULL) <> (zone_id IS NULL)),
  CHECK ((pin_x IS NULL) = (pin_y IS NULL))
);
CREATE INDEX defects_project_idx ON defects (project_id, id) WHERE deleted_at IS NULL;
CREATE INDEX defects_project_status_idx ON defects (project_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX defects_building_idx ON defects (building_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX defects_unit_idx ON defects (unit_id, id) WHERE deleted_at IS NULL;
CREATE INDEX defects_owner_idx ON defects (owner_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX defects_inspection_idx ON defects (inspection_id) WHERE inspection_id IS NOT NULL;
CREATE INDEX defects_due_idx ON defects (project_id, due_at) WHERE deleted_at IS NULL AND status IN ('open', 'assigned', 'in_progress', 'reopened');

-- The append-only history of a defect: one row per change of status, owner or due date.
CREATE TABLE defect_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  defect_id      uuid NOT NULL REFERENCES defects(id),
  project_id     uuid NOT NULL REFERENCES projects(id),
  action         text NOT NULL,
  from_status    text,
  to_status      text NOT NULL,
  actor_id       uuid NOT NULL REFERENCES users(id),
  owner_id       uuid REFERENCES users(id),
  due_at         timestamptz,
  note           text,
  attachment_ids uuid[] NOT NULL DEFAULT '{}',
  device_at      timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX defect_events_defect_idx ON defect_events (defect_id, id);
-- +goose StatementBegin
CREATE FUNCTION fieldops_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON defect_events FOR EACH ROW EXECUTE FUNCTION fieldops_append_only();

CREATE TABLE defect_comments (
  id          uuid PRIMARY KEY,
  defect_id   uuid NOT NULL REFERENCES defects(id),
  project_id  uuid NOT NULL REFERENCES projects(id),
  author_id   uuid NOT NULL REFERENCES users(id),
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  device_at   timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1,
  deleted_at  timestamptz
);
CREATE INDEX defect_comments_defect_idx ON defect_comments (defect_id, id);

-- A buyer's signature at a walkthrough or at handover, with the unit's open defects
-- frozen at that moment and the SHA-256 of that snapshot.
CREATE TABLE signoffs (
  id                       uuid PRIMARY KEY,
  project_id               uuid NOT NULL REFERENCES projects(id),
  unit_id                  uuid NOT NULL REFERENCES units(id),
  inspection_id            uuid REFERENCES inspections(id),
  outcome                  text NOT NULL CHECK (outcome IN ('accepted', 'accepted_with_defects', 'refused')),
  refusal_reason           text,
  buyer_name               text NOT NULL CHECK (length(buyer_name) BETWEEN 1 AND 200),
  signature_attachment_id  uuid NOT NULL REFERENCES attachments(id),
  recorded_by              uuid NOT NULL REFERENCES users(id),
  device_signed_at         timestamptz,
  snapshot                 jsonb NOT NULL,
  snapshot_sha256          bytea NOT NULL CHECK (length(snapshot_sha256) = 32),
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  version                  integer NOT NULL DEFAULT 1,
  deleted_at               timestamptz,
  CHECK ((outcome = 'refused') = (refusal_reason IS NOT NULL))
);
CREATE INDEX signoffs_unit_idx ON signoffs (unit_id, id);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON signoffs FOR EACH ROW EXECUTE FUNCTION fieldops_append_only();

-- The in-app inbox: every notification is a row, readable by polling. Delivery to
-- phones builds on it.
CREATE TABLE notifications (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users(id),
  project_id   uuid REFERENCES projects(id),
  kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
  record_type  text NOT NULL,
  record_id    uuid NOT NULL,
  title_en     text NOT NULL,
  title_zh     text NOT NULL,
  body_en      text NOT NULL DEFAULT '',
  body_zh      text NOT NULL DEFAULT '',
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  read_at      timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);

CREATE TRIGGER touch BEFORE UPDATE ON defect_categories FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON defect_severities FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON project_defect_rules FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON checklist_templates FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON inspections FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON defects FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON defect_comments FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON notifications FOR EACH ROW EXECUTE FUNCTION fieldops_touch();

-- +goose Down
DROP TABLE notifications, signoffs, defect_comments, defect_events, defects, inspections,
  checklist_template_revisions, checklist_templates, project_defect_rules, defect_severities,
  defect_categories;
DROP FUNCTION fieldops_append_only();
