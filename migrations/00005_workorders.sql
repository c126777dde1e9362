-- +goose Up
-- Work orders with one owner at a time, SLA policies and the clocks they start, the
-- phones notifications are delivered to, and a delivery record per notification and device.

-- Work types are data: built-in rows (no organization) plus an organization's own.
CREATE TABLE work_types (
  code             text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
  organization_id  uuid REFERENCES organizations(id),
  label_en         text NOT NULL CHECK (length(label_en) BETWEEN 1 AND 100),
  label_zh         text NOT NULL CHECK (length(label_zh) BETWEEN 1 AND 100),
  position         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX work_types_code_key ON work_types (COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid), code);
INSERT INTO work_types (code, label_en, label_zh, position) VALUES
  ('repair',    'Repair',    '报修', 10),
  ('complaint', 'Complaint', '投诉', 20),
  ('inquiry',   'Inquiry',   '咨询', 30),
  ('cleaning',  'Cleaning',  '保洁', 40);

-- A project's business hours for targets that run on them (its time zone is the
-- project's): week maps mon…sun onto [["09:00","18:00"], …]; holidays are closed days;
-- workdays are make-up working days (调休) with the weekday whose hours apply.
CREATE TABLE project_calendars (
  project_id  uuid PRIMARY KEY REFERENCES projects(id),
  week        jsonb NOT NULL,
  holidays    date[] NOT NULL DEFAULT '{}',
  workdays    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1
);

-- SLA policy per project, work type and priority: a list of targets, each measured
-- between two events of the work order, on the 24 h clock or on business hours.
CREATE TABLE sla_policies (
  id          uuid PRIMARY KEY,
  project_id  uuid NOT NULL REFERENCES projects(id),
  work_type   text NOT NULL,
  priority    text NOT NULL CHECK (priority IN ('emergency', 'urgent', 'normal')),
  targets     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1,
  deleted_at  timestamptz
);
CREATE UNIQUE INDEX sla_policies_key ON sla_policies (project_id, work_type, priority) WHERE deleted_at IS NULL;

CREATE TABLE work_orders (
  id                uuid PRIMARY KEY,
  project_id        uuid NOT NULL REFERENCES projects(id),
  building_id       uuid REFERENCES buildings(id),
  unit_id           uuid REFERENCES units(id),
  zone_id           uuid REFERENCES zones(id),
  location_detail   text NOT NULL DEFAULT '',
  work_type         text NOT NULL,
  source            text NOT NULL CHECK (source IN ('hotline', 'app', 'inspection', 'patrol')),
  priority          text NOT NULL CHECK (priority IN ('emergency', 'urgent', 'normal')),
  title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description       text NOT NULL DEFAULT '',
  -- The reporter's name and phone are personal data: masked in lists, shown in full only
  -- to the owner and supervisors, and every full view is logged in pii_views.
  reporter_name     text,
  reporter_phone    text,
  reported_at       timestamptz NOT NULL, -- when the customer reported it
  defect_id         uuid REFERENCES defects(id),
  status            text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'assigned', 'accepted', 'on_site', 'resolved', 'confirmed', 'closed', 'cancelled', 'reopened')),
  owner_id          uuid REFERENCES users(id),
  waiting_customer  boolean NOT NULL DEFAULT false,
  created_by        uuid NOT NULL REFERENCES users(id),
  assigned_at       timestamptz,
  accepted_at       timestamptz,
  contacted_at      timestamptz, -- the owner first contacted the customer
  on_site_at        timestamptz,
  feedback_at       timestamptz, -- the customer was told the outcome
  resolved_at       timestamptz,
  confirmed_at      timestamptz,
  closed_at         timestamptz,
  cancelled_at      timestamptz,
  reopen_count      integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  version           integer NOT NULL DEFAULT 1,
  deleted_at        timestamptz,
  CHECK (unit_id IS NULL OR zone_id IS NULL)
);
CREATE INDEX work_orders_project_idx ON work_orders (project_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX work_orders_owner_idx ON work_orders (owner_id, status, id) WHERE deleted_at IS NULL;

CREATE TABLE work_order_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  work_order_id  uuid NOT NULL REFERENCES work_orders(id),
  project_id     uuid NOT NULL REFERENCES projects(id),
  action         text NOT NULL,
  from_status    text,
  to_status      text NOT NULL,
  actor_id       uuid NOT NULL REFERENCES users(id),
  owner_id       uuid REFERENCES users(id),
  note           text,
  attachment_ids uuid[] NOT NULL DEFAULT '{}',
  device_at      timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_events_wo_idx ON work_order_events (work_order_id, id);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON work_order_events FOR EACH ROW EXECUTE FUNCTION fieldops_append_only();

-- Who saw whose personal data in full, and when.
CREATE TABLE pii_views (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users(id),
  project_id   uuid NOT NULL REFERENCES projects(id),
  record_type  text NOT NULL,
  record_id    uuid NOT NULL,
  fields       text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pii_views_record_idx ON pii_views (record_type, record_id, id);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON pii_views FOR EACH ROW EXECUTE FUNCTION fieldops_append_only();

-- One running SLA target of a work order. generation grows with every reschedule
-- (pause, resume, reopen); a job carries the generation it was scheduled for and does
-- nothing when the clock has moved on.
CREATE TABLE sla_clocks (
  id                      uuid PRIMARY KEY,
  work_order_id           uuid NOT NULL REFERENCES work_orders(id),
  project_id              uuid NOT NULL REFERENCES projects(id),
  target                  text NOT NULL,
  from_event              text NOT NULL,
  to_event                text NOT NULL,
  allowance_seconds       integer NOT NULL CHECK (allowance_seconds > 0),
  business_hours          boolean NOT NULL DEFAULT false,
  warn_share              real NOT NULL DEFAULT 0.75 CHECK (warn_share > 0 AND warn_share < 1),
  escalate_every_seconds  integer CHECK (escalate_every_seconds > 0),
  used_seconds            double precision NOT NULL DEFAULT 0,
  running_since           timestamptz,
  deadline                timestamptz,
  warn_at                 timestamptz,
  state                   text NOT NULL CHECK (state IN ('running', 'paused', 'met', 'breached', 'cancelled')),
  generation              integer NOT NULL DEFAULT 1,
  warned_at               timestamptz,
  breached_at             timestamptz,
  met_at                  timestamptz,
  escalation_level        integer NOT NULL DEFAULT 0,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (work_order_id, target)
);
CREATE INDEX sla_clocks_running_idx ON sla_clocks (project_id, deadline) WHERE state IN ('running', 'breached');
-- A breach job takes every running clock already due (LockDueClocks): by deadline.
CREATE INDEX sla_clocks_due_idx ON sla_clocks (deadline) WHERE state = 'running';

-- Every SLA event, for reports: started, paused, resumed, warned, met, breached,
-- escalated, cancelled.
CREATE TABLE sla_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  clock_id       uuid NOT NULL REFERENCES sla_clocks(id),
  work_order_id  uuid NOT NULL REFERENCES work_orders(id),
  project_id     uuid NOT NULL REFERENCES projects(id),
  target         text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('started', 'paused', 'resumed', 'warned', 'met', 'breached', 'escalated', 'cancelled')),
  -- due: the moment the event was for (deadline, warning time); at: when it happened.
  due            timestamptz,
  at             timestamptz NOT NULL DEFAULT now(),
  level          integer,
  data           jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sla_events_wo_idx ON sla_events (work_order_id, id);
CREATE INDEX sla_events_project_idx ON sla_events (project_id, kind, at);
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON sla_events FOR EACH ROW EXECUTE FUNCTION fieldops_append_only();

-- The phones notifications go to. A device belongs to whoever registered it last
-- (shared guard phones change hands at shift change).
CREATE TABLE devices (
  device_id    text PRIMARY KEY CHECK (length(device_id) BETWEEN 1 AND 200),
  user_id      uuid NOT NULL REFERENCES users(id),
  provider     text NOT NULL DEFAULT 'fcm',
  token        text NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
  platform     text NOT NULL CHECK (platform IN ('android', 'ios')),
  locale       text NOT NULL DEFAULT 'zh-CN',
  app_version  text NOT NULL DEFAULT '',
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX devices_token_key ON devices (provider, token);
CREATE INDEX devices_user_idx ON devices (user_id);

ALTER TABLE notifications
  ADD COLUMN urgent       boolean NOT NULL DEFAULT false,
  ADD COLUMN stale_at     timestamptz, -- an alert not delivered by then is not sent
  ADD COLUMN collapse_key text;

-- One row per notification and device: a retried job never sends twice.
CREATE TABLE notification_deliveries (
  notification_id  uuid NOT NULL REFERENCES notifications(id),
  device_id        text NOT NULL,
  provider         text NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead_token', 'stale', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  provider_id      text,
  last_error       text,
  sent_at          timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (notification_id, device_id)
);

CREATE TRIGGER touch BEFORE UPDATE ON work_types FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON project_calendars FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON sla_policies FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON work_orders FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON sla_clocks FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON devices FOR EACH ROW EXECUTE FUNCTION fieldops_touch();
CREATE TRIGGER touch BEFORE UPDATE ON notification_deliveries FOR EACH ROW EXECUTE FUNCTION fieldops_touch();

-- +goose Down
DROP TABLE notification_deliveries, devices, sla_events, sla_clocks, pii_views, work_order_events,
  work_orders, sla_policies, project_calendars, work_types;
ALTER TABLE notifications DROP COLUMN urgent, DROP COLUMN stale_at, DROP COLUMN collapse_key;
