-- +goose Up
-- Photo evidence. The app chooses the id so a record made offline can name its photos
-- before they are uploaded; the row is pending until the server has checked the object.
CREATE TABLE attachments (
  id                  uuid PRIMARY KEY,
  project_id          uuid NOT NULL REFERENCES projects(id),
  owner_type          text NOT NULL CHECK (length(owner_type) BETWEEN 1 AND 40),
  owner_id            uuid NOT NULL,
  purpose             text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 40),
  content_type        text NOT NULL,
  size                bigint NOT NULL CHECK (size > 0),
  sha256              bytea NOT NULL CHECK (length(sha256) = 32),
  state               text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'available', 'rejected')),
  reject_reason       text,
  uploaded_by         uuid NOT NULL REFERENCES users(id),
  object_key          text NOT NULL,
  -- What the device said when it asked to upload (its clock, its GPS).
  device_captured_at  timestamptz,
  device_lat          double precision,
  device_lng          double precision,
  device_accuracy_m   double precision,
  -- What the server read from the file.
  format              text,
  width               integer,
  height              integer,
  orientation         integer,
  exif_taken_at       timestamptz,
  exif_lat            double precision,
  exif_lng            double precision,
  camera_make         text,
  camera_model        text,
  -- Derivatives, made by a job after completion.
  derivatives_state   text NOT NULL DEFAULT 'none' CHECK (derivatives_state IN ('none', 'pending', 'ready', 'failed')),
  derivatives_error   text,
  thumbnail_key       text,
  thumbnail_width     integer,
  thumbnail_height    integer,
  preview_key         text,
  preview_width       integer,
  preview_height      integer,
  received_at         timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  version             integer NOT NULL DEFAULT 1,
  deleted_at          timestamptz
);
CREATE INDEX attachments_owner_idx ON attachments (owner_type, owner_id, id);
CREATE INDEX attachments_pending_idx ON attachments (created_at) WHERE state = 'pending';
CREATE TRIGGER touch BEFORE UPDATE ON attachments FOR EACH ROW EXECUTE FUNCTION fieldops_touch();

-- +goose Down
DROP TABLE attachments;
