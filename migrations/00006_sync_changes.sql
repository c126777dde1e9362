-- +goose Up
-- Offline sync, the pull side: a change log the apps read forward from a cursor.
--
-- Every insert, update and delete of a synced table appends a row here, in the writing
-- transaction. xid is that transaction's id: a pull only reads rows whose xid is below
-- the oldest transaction still running (pg_snapshot_xmin), so a transaction that commits
-- late can never land behind a position already handed out (an identity id can: it is
-- taken at insert, not at commit). id orders rows within one transaction.
CREATE TABLE sync_changes (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
  record_type      text NOT NULL,
  record_id        text NOT NULL,   -- a uuid, or a code for code lists
  project_id       uuid,            -- NULL: organization-wide or built-in
  organization_id  uuid,
  version          integer,
  deleted          boolean NOT NULL DEFAULT false,
  -- What scope needs without reading the record: its owners before and after the change
  -- (so a record taken away from an engineer reaches them as a removal), the user a
  -- draft is private to, and where it is.
  owner_ids        uuid[] NOT NULL DEFAULT '{}',
  private_to       uuid,
  building_id      uuid,
  zone_id          uuid,
  changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_changes_xid_idx ON sync_changes (xid, id);
CREATE INDEX sync_changes_changed_at_idx ON sync_changes (changed_at);

-- The highest xid the retention clean-up has removed: a cursor at or below it may have
-- missed changes and must start over.
CREATE TABLE sync_horizon (
  only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  purged_xid   xid8 NOT NULL DEFAULT '0'::xid8,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync_horizon DEFAULT VALUES;

-- fieldops_sync_private_to is the user a row is private to (its draft's author), NULL
-- when everyone in scope may see it. Photos and comments follow their record.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_private_to(tbl text, r jsonb) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT CASE tbl
    WHEN 'defects' THEN CASE WHEN (r->>'draft')::boolean THEN (r->>'reported_by')::uuid END
    WHEN 'inspections' THEN CASE WHEN r->>'state' = 'draft' THEN (r->>'inspector_id')::uuid END
    WHEN 'defect_comments' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = (r->>'defect_id')::uuid)
    WHEN 'attachments' THEN CASE r->>'owner_type'
      WHEN 'defect' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = (r->>'owner_id')::uuid)
      WHEN 'inspection' THEN (SELECT CASE WHEN i.state = 'draft' THEN i.inspector_id END FROM inspections i WHERE i.id = (r->>'owner_id')::uuid)
      END
    END
$$;
-- +goose StatementEnd

-- fieldops_sync_change logs one change. Arguments: the record type and its key column.
-- When a defect, inspection or work order changes hands or leaves draft, the photos and
-- comments that follow it are logged too: who may see them changed with it.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n jsonb;
  o jsonb;
  r jsonb;
  owners uuid[];
  priv uuid;
  old_priv uuid;
BEGIN
  IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
  IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
  r := COALESCE(n, o);
  owners := ARRAY(SELECT DISTINCT u FROM unnest(ARRAY[(o->>'owner_id')::uuid, (n->>'owner_id')::uuid]) u WHERE u IS NOT NULL);
  priv := fieldops_sync_private_to(TG_TABLE_NAME, r);
  INSERT INTO sync_changes (record_type, record_id, project_id, organization_id, version, deleted,
                            owner_ids, private_to, building_id, zone_id)
  VALUES (TG_ARGV[0], r->>TG_ARGV[1],
          CASE WHEN TG_TABLE_NAME = 'projects' THEN (r->>'id')::uuid ELSE (r->>'project_id')::uuid END,
          (r->>'organization_id')::uuid, (r->>'version')::integer,
          TG_OP = 'DELETE' OR (r->>'deleted_at') IS NOT NULL,
          owners, priv, (r->>'building_id')::uuid, (r->>'zone_id')::uuid);

  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME IN ('defects', 'inspections', 'work_orders') THEN
    old_priv := fieldops_sync_private_to(TG_TABLE_NAME, o);
    IF (o->>'owner_id') IS DISTINCT FROM (n->>'owner_id') OR old_priv IS DISTINCT FROM priv
       OR (o->>'deleted_at') IS DISTINCT FROM (n->>'deleted_at') THEN
      INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to)
      SELECT 'attachment', a.id::text, a.project_id, a.version, a.deleted_at IS NOT NULL, owners, priv
        FROM attachments a
       WHERE a.owner_type = TG_ARGV[0] AND a.owner_id = NEW.id;
      IF TG_TABLE_NAME = 'defects' THEN
        INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to)
        SELECT 'defect_comment', c.id::text, c.project_id, c.version, c.deleted_at IS NOT NULL, owners, priv
          FROM defect_comments c
         WHERE c.defect_id = NEW.id;
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Rooms change with their unit type: a room change is a change of the unit type.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_room_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN t := OLD.unit_type_id; ELSE t := NEW.unit_type_id; END IF;
  INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted)
  SELECT 'unit_type', u.id::text, u.project_id, u.version, u.deleted_at IS NOT NULL
    FROM unit_types u WHERE u.id = t;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON projects FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('project', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON buildings FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('building', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON unit_types FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('unit_type', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON unit_type_rooms FOR EACH ROW EXECUTE FUNCTION fieldops_sync_room_change();
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON units FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('unit', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON zones FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('zone', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON checklist_templates FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('checklist_template', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defect_categories FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect_category', 'code');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defect_severities FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect_severity', 'code');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON work_types FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('work_type', 'code');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON inspections FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('inspection', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defects FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defect_comments FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect_comment', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON signoffs FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('signoff', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON attachments FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('attachment', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON work_orders FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('work_order', 'id');
-- A membership change changes the user's scope; the pull compares the scope it served
-- with the caller's current one, and the log keeps the change for audit and debugging.
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON project_members FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('membership', 'user_id');

-- +goose Down
DROP TRIGGER sync_change ON project_members;
DROP TRIGGER sync_change ON work_orders;
DROP TRIGGER sync_change ON attachments;
DROP TRIGGER sync_change ON signoffs;
DROP TRIGGER sync_change ON defect_comments;
DROP TRIGGER sync_change ON defects;
DROP TRIGGER sync_change ON inspections;
DROP TRIGGER sync_change ON work_types;
DROP TRIGGER sync_change ON defect_severities;
DROP TRIGGER sync_change ON defect_categories;
DROP TRIGGER sync_change ON checklist_templates;
DROP TRIGGER sync_change ON zones;
DROP TRIGGER sync_change ON units;
DROP TRIGGER sync_change ON unit_type_rooms;
DROP TRIGGER sync_change ON unit_types;
DROP TRIGGER sync_change ON buildings;
DROP TRIGGER sync_change ON projects;
DROP FUNCTION fieldops_sync_room_change();
DROP FUNCTION fieldops_sync_change();
DROP FUNCTION fieldops_sync_private_to(text, jsonb);
DROP TABLE sync_horizon, sync_changes;
