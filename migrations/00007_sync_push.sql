-- +goose Up
-- Offline sync, the push side: each device's operations are kept with their result so
-- a resend is answered from here and never applied twice, and every record an app may
-- write remembers, per column, the version that last changed it, so a push merges
-- field by field against the version the app started from.

CREATE TABLE sync_ops (
  device_id    text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 200),
  op_id        uuid NOT NULL,
  user_id      uuid NOT NULL REFERENCES users(id),
  record_type  text NOT NULL,
  record_id    uuid NOT NULL,
  status       text NOT NULL CHECK (status IN ('pending', 'applied', 'conflict', 'rejected')),
  result       jsonb,
  device_time  timestamptz,  -- the phone's clock, kept as it came
  received_at  timestamptz NOT NULL DEFAULT now(),  -- the server's clock, the one used
  PRIMARY KEY (device_id, op_id)
);
CREATE INDEX sync_ops_received_idx ON sync_ops (received_at);

-- sync_field_versions stamps every column whose value changed with the row's new
-- version. answers (inspections) is a map whose keys merge on their own, so each key
-- gets its own entry "answers.<key>". Updates that leave version alone (background
-- work such as thumbnails) change nothing the apps edit and leave the stamps as they are.
-- +goose StatementBegin
CREATE FUNCTION sync_field_versions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n jsonb := to_jsonb(NEW);
  o jsonb := to_jsonb(OLD);
  changed jsonb;
BEGIN
  IF NEW.version IS NOT DISTINCT FROM OLD.version THEN
    RETURN NEW;
  END IF;
  SELECT COALESCE(jsonb_object_agg(e.key, NEW.version), '{}'::jsonb) INTO changed
    FROM jsonb_each(n) e
   WHERE e.key NOT IN ('version', 'updated_at', 'field_versions', 'answers')
     AND e.value IS DISTINCT FROM o -> e.key;
  IF n ? 'answers' AND (n -> 'answers') IS DISTINCT FROM (o -> 'answers') THEN
    SELECT changed || COALESCE(jsonb_object_agg('answers.' || k, NEW.version), '{}'::jsonb) INTO changed
      FROM (SELECT jsonb_object_keys(COALESCE(n -> 'answers', '{}'::jsonb)) AS k
            UNION SELECT jsonb_object_keys(COALESCE(o -> 'answers', '{}'::jsonb))) keys
     WHERE (n -> 'answers' -> k) IS DISTINCT FROM (o -> 'answers' -> k);
  END IF;
  NEW.field_versions := COALESCE(OLD.field_versions, '{}'::jsonb) || changed;
  RETURN NEW;
END
$$;
-- +goose StatementEnd

ALTER TABLE inspections     ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE defects         ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE defect_comments ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE work_orders     ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE attachments     ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE TRIGGER inspections_field_versions BEFORE UPDATE ON inspections
  FOR EACH ROW EXECUTE FUNCTION sync_field_versions();
CREATE TRIGGER defects_field_versions BEFORE UPDATE ON defects
  FOR EACH ROW EXECUTE FUNCTION sync_field_versions();
CREATE TRIGGER defect_comments_field_versions BEFORE UPDATE ON defect_comments
  FOR EACH ROW EXECUTE FUNCTION sync_field_versions();
CREATE TRIGGER work_orders_field_versions BEFORE UPDATE ON work_orders
  FOR EACH ROW EXECUTE FUNCTION sync_field_versions();
CREATE TRIGGER attachments_field_versions BEFORE UPDATE ON attachments
  FOR EACH ROW EXECUTE FUNCTION sync_field_versions();

-- +goose Down
DROP TRIGGER attachments_field_versions ON attachments;
DROP TRIGGER work_orders_field_versions ON work_orders;
DROP TRIGGER defect_comments_field_versions ON defect_comments;
DROP TRIGGER defects_field_versions ON defects;
DROP TRIGGER inspections_field_versions ON inspections;
ALTER TABLE attachments     DROP COLUMN field_versions;
ALTER TABLE work_orders     DROP COLUMN field_versions;
ALTER TABLE defect_comments DROP COLUMN field_versions;
ALTER TABLE defects         DROP COLUMN field_versions;
ALTER TABLE inspections     DROP COLUMN field_versions;
DROP FUNCTION sync_field_versions();
DROP TABLE sync_ops;
