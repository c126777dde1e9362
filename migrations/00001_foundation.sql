-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

-- updated_at is kept by the database so no code path can forget it.
-- +goose StatementBegin
CREATE FUNCTION fieldops_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TABLE organizations (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1,
  deleted_at  timestamptz
);

CREATE TABLE users (
  id               uuid PRIMARY KEY,
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  username         citext,
  phone            text,
  password_hash    text NOT NULL,
  org_admin        boolean NOT NULL DEFAULT false,
  locale           text NOT NULL DEFAULT 'zh-CN',
  disabled_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  version          integer NOT NULL DEFAULT 1,
  deleted_at       timestamptz,
  CHECK (username IS NOT NULL OR phone IS NOT NULL)
);
CREATE UNIQUE INDEX users_username_key ON users (username) WHERE username IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX users_org_idx ON users (organization_id, id);

CREATE TABLE projects (
  id               uuid PRIMARY KEY,
  organization_id  uuid NOT NULL REFERENCES organizations(id),
  code             text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  city             text NOT NULL DEFAULT '',
  timezone         text NOT NULL DEFAULT 'Asia/Shanghai',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  version          integer NOT NULL DEFAULT 1,
  deleted_at       timestamptz
);
CREATE UNIQUE INDEX projects_code_key ON projects (organization_id, code) WHERE deleted_at IS NULL;

CREATE TABLE project_members (
  project_id  uuid NOT NULL REFERENCES projects(id),
  user_id     uuid NOT NULL REFERENCES users(id),
  role        text NOT NULL CHECK (role IN ('admin', 'supervisor', 'ambassador', 'engineer', 'guard')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id, role)
);
CREATE INDEX project_members_user_idx ON project_members (user_id);

CREATE TABLE buildings (
  id          uuid PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id),
  code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  floors      integer NOT NULL CHECK (floors BETWEEN 1 AND 300),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1,
  deleted_at  timestamptz
);
CREATE UNIQUE INDEX buildings_code_key ON buildings (project_id, code) WHERE deleted_at IS NULL;

CREATE TABLE unit_types (
  id                        uuid PRIMARY KEY,
  project_id                uuid NOT NULL REFERENCES projects(id),
  code                      text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
  name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  floor_plan_attachment_id  uuid,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  version                   integer NOT NULL DEFAULT 1,
  deleted_at                timestamptz
);
CREATE UNIQUE INDEX unit_types_code_key ON unit_types (project_id, code) WHERE deleted_at IS NULL;

-- Rooms belong to their unit type and change with it (its version covers them).
CREATE TABLE unit_type_rooms (
  id            uuid PRIMARY KEY,
  unit_type_id  uuid NOT NULL REFERENCES unit_types(id) ON DELETE CASCADE,
  code          text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  position      integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (unit_type_id, code)
);

CREATE TABLE units (
  id             uuid PRIMARY KEY,
  project_id     uuid NOT NULL REFERENCES projects(id),
  building_id    uuid NOT NULL REFERENCES buildings(id),
  unit_type_id   uuid REFERENCES unit_types(id),
  number         text NOT NULL CHECK (length(number) BETWEEN 1 AND 32),
  floor          integer NOT NULL CHECK (floor BETWEEN -10 AND 300),
  handover_date  date,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  version        integer NOT NULL DEFAULT 1,
  deleted_at     timestamptz
);
CREATE UNIQUE INDEX units_number_key ON units (building_id, number) WHERE deleted_at IS NULL;
CREATE INDEX units_project_idx ON units (project_id, id);
CREATE INDEX units_unit_type_idx ON units (unit_type_id) WHERE deleted_at IS NULL;

CREATE TABLE zones (
  id          uuid PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id),
  code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('site', 'sales', 'common', 'parking', 'perimeter', 'other')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1,
  deleted_at  timestamptz
);
CREATE UNIQUE INDEX zones_code_key ON zones (project_id, code) WHERE deleted_at IS NULL;

-- Refresh tokens are stored as SHA-256 hashes; a family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY,
  family_id   uuid NOT NULL,
  parent_id   uuid REFERENCES refresh_tokens(id) ON DELETE SET NULL,
  user_id     uuid NOT NULL REFERENCES users(id),
  device_id   text NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  rotated_at  timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);

-- Stored responses of POST requests carrying an Idempotency-Key, kept for retries.
CREATE TABLE idempotency_keys (
  user_id          uuid NOT NULL,
  key              text NOT NULL,
  method           text NOT NULL,
  path             text NOT NULL,
  request_hash     bytea NOT NULL,
  response_status  integer,
  response_type    text,
  response_body    bytea,
  locked_until     timestamptz,
  expires_at       timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Fixed-window counters shared by every instance (login attempts per IP and per account).
CREATE TABLE rate_counters (
  key           text NOT NULL,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_expires_idx ON rate_counters (expires_at);

CREATE TRIGGER touch BEFORE UPDATE ON organizations FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON project_members FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON buildings FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON unit_types FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON unit_type_rooms FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON units FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON zones FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON rate_counters FOR EACH ROW EXECUTE FUNCTION fieldops_touch();

-- +goose Down
DROP TABLE rate_counters, idempotency_keys, refresh_tokens, zones, units, unit_type_rooms, unit_types,
  buildings, project_members, projects, users, organizations;
DROP FUNCTION fieldops_touch();
