-- +goose Up
-- Offline sync: cheaper change logging for the tables a push writes in bulk.
--
-- The generic row trigger of 00006 turns every row into JSON and calls
-- fieldops_sync_private_to once per row, which costs more than the write itself when a
-- push inserts or updates hundreds of defects in one statement. Defects, inspections,
-- defect comments, attachments and work orders now log their changes once per
-- statement, from the statement's transition tables, with typed columns. They log
-- exactly the rows the generic trigger logged: same record, project, version, deleted
-- flag, owners, private-to user, building and zone (none of these tables has an
-- organization). Rows may reach sync_changes in another order within the statement,
-- which the pull does not depend on: it reads a transaction's changes only once the
-- transaction has committed. Every other synced table keeps the generic row trigger.
--
-- A trigger function's statements are planned once per session and the plan is reused
-- whatever the number of rows that come later, so they are written to stay cheap for one
-- row and for thousands. An update pairs each new row with its old one by id through one
-- sort of both transition tables (a join planned for a one-row statement would compare
-- every pair in a large one); should an id ever change, the new row is still logged,
-- with its new owner only. Photos and comments are read by index, per record. JIT is
-- off: a plan first made for a large statement would otherwise be compiled again on
-- every later call, one-row calls included.

-- fieldops_sync_owners is the distinct, non-null owners before and after a change, in
-- the order the generic trigger gave them (ascending), '{}' when there is none.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_owners(old_owner uuid, new_owner uuid) RETURNS uuid[] LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN old_owner IS NULL AND new_owner IS NULL THEN '{}'::uuid[]
    WHEN old_owner IS NULL THEN ARRAY[new_owner]
    WHEN new_owner IS NULL OR new_owner = old_owner THEN ARRAY[old_owner]
    WHEN old_owner < new_owner THEN ARRAY[old_owner, new_owner]
    ELSE ARRAY[new_owner, old_owner]
  END
$$;
-- +goose StatementEnd

-- Defects are private to their reporter while draft. When a defect changes hands,
-- leaves or enters draft, or is deleted or restored, its photos and comments are logged
-- too, with the defect's owners and private-to user: who may see them changed with it.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_defects() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'defect', n.id::text, n.project_id, n.version, n.deleted_at IS NOT NULL,
           fieldops_sync_owners(NULL, n.owner_id), CASE WHEN n.draft THEN n.reported_by END,
           n.building_id, n.zone_id
      FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'defect', o.id::text, o.project_id, o.version, true,
           fieldops_sync_owners(o.owner_id, NULL), CASE WHEN o.draft THEN o.reported_by END,
           o.building_id, o.zone_id
      FROM old_rows o;
  ELSE
    -- Each new row beside the old row's owner, private-to user and deletion, by id.
    WITH c AS MATERIALIZED (
      SELECT r.id, r.project_id, r.version, r.deleted_at IS NOT NULL AS deleted, r.building_id, r.zone_id,
             fieldops_sync_owners(r.old_owner_id, r.owner_id) AS owners, r.priv,
             r.old_owner_id IS DISTINCT FROM r.owner_id OR r.old_priv IS DISTINCT FROM r.priv
               OR r.old_deleted_at IS DISTINCT FROM r.deleted_at AS follow
        FROM (SELECT s.*, lag(s.owner_id) OVER w AS old_owner_id, lag(s.priv) OVER w AS old_priv,
                     lag(s.deleted_at) OVER w AS old_deleted_at
                FROM (SELECT false AS is_new, o.id, NULL::uuid AS project_id, NULL::integer AS version, o.deleted_at,
                             NULL::uuid AS building_id, NULL::uuid AS zone_id, o.owner_id,
                             CASE WHEN o.draft THEN o.reported_by END AS priv
                        FROM old_rows o
                      UNION ALL
                      SELECT true, n.id, n.project_id, n.version, n.deleted_at, n.building_id, n.zone_id, n.owner_id,
                             CASE WHEN n.draft THEN n.reported_by END
                        FROM new_rows n) s
              WINDOW w AS (PARTITION BY s.id ORDER BY s.is_new)) r
       WHERE r.is_new)
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'defect', c.id::text, c.project_id, c.version, c.deleted, c.owners, c.priv, c.building_id, c.zone_id
      FROM c
    UNION ALL
    -- OFFSET 0 keeps the per-defect index lookup: photos are read only for the defects
    -- whose audience changed, never by scanning the whole table.
    SELECT 'attachment', a.id::text, a.project_id, a.version, a.deleted_at IS NOT NULL, c.owners, c.priv, NULL::uuid, NULL::uuid
      FROM c CROSS JOIN LATERAL (
             SELECT a.id, a.project_id, a.version, a.deleted_at FROM attachments a
              WHERE a.owner_type = 'defect' AND a.owner_id = c.id OFFSET 0) a
     WHERE c.follow
    UNION ALL
    SELECT 'defect_comment', m.id::text, m.project_id, m.version, m.deleted_at IS NOT NULL, c.owners, c.priv, NULL::uuid, NULL::uuid
      FROM c CROSS JOIN LATERAL (
             SELECT m.id, m.project_id, m.version, m.deleted_at FROM defect_comments m
              WHERE m.defect_id = c.id OFFSET 0) m
     WHERE c.follow;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Inspections have no owner; a draft is private to its inspector. Their photos follow
-- them into and out of draft, and when they are deleted or restored.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_inspections() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'inspection', n.id::text, n.project_id, n.version, n.deleted_at IS NOT NULL,
           '{}'::uuid[], CASE WHEN n.state = 'draft' THEN n.inspector_id END,
           n.building_id, n.zone_id
      FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'inspection', o.id::text, o.project_id, o.version, true,
           '{}'::uuid[], CASE WHEN o.state = 'draft' THEN o.inspector_id END,
           o.building_id, o.zone_id
      FROM old_rows o;
  ELSE
    WITH c AS MATERIALIZED (
      SELECT r.id, r.project_id, r.version, r.deleted_at IS NOT NULL AS deleted, r.building_id, r.zone_id, r.priv,
             r.old_priv IS DISTINCT FROM r.priv OR r.old_deleted_at IS DISTINCT FROM r.deleted_at AS follow
        FROM (SELECT s.*, lag(s.priv) OVER w AS old_priv, lag(s.deleted_at) OVER w AS old_deleted_at
                FROM (SELECT false AS is_new, o.id, NULL::uuid AS project_id, NULL::integer AS version, o.deleted_at,
                             NULL::uuid AS building_id, NULL::uuid AS zone_id,
                             CASE WHEN o.state = 'draft' THEN o.inspector_id END AS priv
                        FROM old_rows o
                      UNION ALL
                      SELECT true, n.id, n.project_id, n.version, n.deleted_at, n.building_id, n.zone_id,
                             CASE WHEN n.state = 'draft' THEN n.inspector_id END
                        FROM new_rows n) s
              WINDOW w AS (PARTITION BY s.id ORDER BY s.is_new)) r
       WHERE r.is_new)
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to, building_id, zone_id)
    SELECT 'inspection', c.id::text, c.project_id, c.version, c.deleted, '{}'::uuid[], c.priv, c.building_id, c.zone_id
      FROM c
    UNION ALL
    SELECT 'attachment', a.id::text, a.project_id, a.version, a.deleted_at IS NOT NULL, '{}'::uuid[], c.priv, NULL::uuid, NULL::uuid
      FROM c CROSS JOIN LATERAL (
             SELECT a.id, a.project_id, a.version, a.deleted_at FROM attachments a
              WHERE a.owner_type = 'inspection' AND a.owner_id = c.id OFFSET 0) a
     WHERE c.follow;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Work orders are never private. Their photos follow them when they change hands and
-- when they are deleted or restored.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_work_orders() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, building_id, zone_id)
    SELECT 'work_order', n.id::text, n.project_id, n.version, n.deleted_at IS NOT NULL,
           fieldops_sync_owners(NULL, n.owner_id), n.building_id, n.zone_id
      FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, building_id, zone_id)
    SELECT 'work_order', o.id::text, o.project_id, o.version, true,
           fieldops_sync_owners(o.owner_id, NULL), o.building_id, o.zone_id
      FROM old_rows o;
  ELSE
    WITH c AS MATERIALIZED (
      SELECT r.id, r.project_id, r.version, r.deleted_at IS NOT NULL AS deleted, r.building_id, r.zone_id,
             fieldops_sync_owners(r.old_owner_id, r.owner_id) AS owners,
             r.old_owner_id IS DISTINCT FROM r.owner_id OR r.old_deleted_at IS DISTINCT FROM r.deleted_at AS follow
        FROM (SELECT s.*, lag(s.owner_id) OVER w AS old_owner_id, lag(s.deleted_at) OVER w AS old_deleted_at
                FROM (SELECT false AS is_new, o.id, NULL::uuid AS project_id, NULL::integer AS version, o.deleted_at,
                             NULL::uuid AS building_id, NULL::uuid AS zone_id, o.owner_id
                        FROM old_rows o
                      UNION ALL
                      SELECT true, n.id, n.project_id, n.version, n.deleted_at, n.building_id, n.zone_id, n.owner_id
                        FROM new_rows n) s
              WINDOW w AS (PARTITION BY s.id ORDER BY s.is_new)) r
       WHERE r.is_new)
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, building_id, zone_id)
    SELECT 'work_order', c.id::text, c.project_id, c.version, c.deleted, c.owners, c.building_id, c.zone_id
      FROM c
    UNION ALL
    SELECT 'attachment', a.id::text, a.project_id, a.version, a.deleted_at IS NOT NULL, c.owners, NULL::uuid, NULL::uuid
      FROM c CROSS JOIN LATERAL (
             SELECT a.id, a.project_id, a.version, a.deleted_at FROM attachments a
              WHERE a.owner_type = 'work_order' AND a.owner_id = c.id OFFSET 0) a
     WHERE c.follow;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Comments are private to the reporter of their defect while it is draft, read from
-- the defect as it is at the end of the statement.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_defect_comments() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, private_to)
    SELECT 'defect_comment', o.id::text, o.project_id, o.version, true,
           (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = o.defect_id)
      FROM old_rows o;
  ELSE
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, private_to)
    SELECT 'defect_comment', n.id::text, n.project_id, n.version, n.deleted_at IS NOT NULL,
           (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = n.defect_id)
      FROM new_rows n;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Photos are private like the defect or inspection they belong to. owner_ids holds the
-- attachment's owner_id column before and after, as the generic trigger logged it.
-- +goose StatementBegin
CREATE FUNCTION fieldops_sync_attachments() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to)
    SELECT 'attachment', n.id::text, n.project_id, n.version, n.deleted_at IS NOT NULL,
           fieldops_sync_owners(NULL, n.owner_id),
           CASE n.owner_type
             WHEN 'defect' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = n.owner_id)
             WHEN 'inspection' THEN (SELECT CASE WHEN i.state = 'draft' THEN i.inspector_id END FROM inspections i WHERE i.id = n.owner_id)
           END
      FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to)
    SELECT 'attachment', o.id::text, o.project_id, o.version, true,
           fieldops_sync_owners(o.owner_id, NULL),
           CASE o.owner_type
             WHEN 'defect' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = o.owner_id)
             WHEN 'inspection' THEN (SELECT CASE WHEN i.state = 'draft' THEN i.inspector_id END FROM inspections i WHERE i.id = o.owner_id)
           END
      FROM old_rows o;
  ELSE
    INSERT INTO sync_changes (record_type, record_id, project_id, version, deleted, owner_ids, private_to)
    SELECT 'attachment', r.id::text, r.project_id, r.version, r.deleted_at IS NOT NULL,
           fieldops_sync_owners(r.old_owner_id, r.owner_id),
           CASE r.owner_type
             WHEN 'defect' THEN (SELECT CASE WHEN d.draft THEN d.reported_by END FROM defects d WHERE d.id = r.owner_id)
             WHEN 'inspection' THEN (SELECT CASE WHEN i.state = 'draft' THEN i.inspector_id END FROM inspections i WHERE i.id = r.owner_id)
           END
      FROM (SELECT s.*, lag(s.owner_id) OVER w AS old_owner_id
              FROM (SELECT false AS is_new, o.id, NULL::uuid AS project_id, NULL::integer AS version,
                           NULL::timestamptz AS deleted_at, NULL::text AS owner_type, o.owner_id
                      FROM old_rows o
                    UNION ALL
                    SELECT true, n.id, n.project_id, n.version, n.deleted_at, n.owner_type, n.owner_id
                      FROM new_rows n) s
            WINDOW w AS (PARTITION BY s.id ORDER BY s.is_new)) r
     WHERE r.is_new;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

DROP TRIGGER sync_change ON defects;
DROP TRIGGER sync_change ON inspections;
DROP TRIGGER sync_change ON defect_comments;
DROP TRIGGER sync_change ON attachments;
DROP TRIGGER sync_change ON work_orders;

-- A trigger with transition tables serves one event, hence three per table.
CREATE TRIGGER sync_change_insert AFTER INSERT ON defects REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defects();
CREATE TRIGGER sync_change_update AFTER UPDATE ON defects REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defects();
CREATE TRIGGER sync_change_delete AFTER DELETE ON defects REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defects();

CREATE TRIGGER sync_change_insert AFTER INSERT ON inspections REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_inspections();
CREATE TRIGGER sync_change_update AFTER UPDATE ON inspections REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_inspections();
CREATE TRIGGER sync_change_delete AFTER DELETE ON inspections REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_inspections();

CREATE TRIGGER sync_change_insert AFTER INSERT ON defect_comments REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defect_comments();
CREATE TRIGGER sync_change_update AFTER UPDATE ON defect_comments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defect_comments();
CREATE TRIGGER sync_change_delete AFTER DELETE ON defect_comments REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_defect_comments();

CREATE TRIGGER sync_change_insert AFTER INSERT ON attachments REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_attachments();
CREATE TRIGGER sync_change_update AFTER UPDATE ON attachments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_attachments();
CREATE TRIGGER sync_change_delete AFTER DELETE ON attachments REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_attachments();

CREATE TRIGGER sync_change_insert AFTER INSERT ON work_orders REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_work_orders();
CREATE TRIGGER sync_change_update AFTER UPDATE ON work_orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_work_orders();
CREATE TRIGGER sync_change_delete AFTER DELETE ON work_orders REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fieldops_sync_work_orders();

-- sync_field_versions, as in 00007, with two early exits before any row is turned into
-- JSON: an update that leaves version alone (background work), and one that sets
-- field_versions itself (the bulk push, which knows the stamps already); that writer's
-- stamps are kept as written.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sync_field_versions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n jsonb;
  o jsonb;
  changed jsonb;
BEGIN
  IF NEW.version IS NOT DISTINCT FROM OLD.version OR NEW.field_versions IS DISTINCT FROM OLD.field_versions THEN
    RETURN NEW;
  END IF;
  n := to_jsonb(NEW);
  o := to_jsonb(OLD);
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sync_field_versions() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TRIGGER sync_change_delete ON work_orders;
DROP TRIGGER sync_change_update ON work_orders;
DROP TRIGGER sync_change_insert ON work_orders;
DROP TRIGGER sync_change_delete ON attachments;
DROP TRIGGER sync_change_update ON attachments;
DROP TRIGGER sync_change_insert ON attachments;
DROP TRIGGER sync_change_delete ON defect_comments;
DROP TRIGGER sync_change_update ON defect_comments;
DROP TRIGGER sync_change_insert ON defect_comments;
DROP TRIGGER sync_change_delete ON inspections;
DROP TRIGGER sync_change_update ON inspections;
DROP TRIGGER sync_change_insert ON inspections;
DROP TRIGGER sync_change_delete ON defects;
DROP TRIGGER sync_change_update ON defects;
DROP TRIGGER sync_change_insert ON defects;

CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON inspections FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('inspection', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defects FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON defect_comments FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('defect_comment', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON attachments FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('attachment', 'id');
CREATE TRIGGER sync_change AFTER INSERT OR UPDATE OR DELETE ON work_orders FOR EACH ROW EXECUTE FUNCTION fieldops_sync_change('work_order', 'id');

DROP FUNCTION fieldops_sync_attachments();
DROP FUNCTION fieldops_sync_defect_comments();
DROP FUNCTION fieldops_sync_work_orders();
DROP FUNCTION fieldops_sync_inspections();
DROP FUNCTION fieldops_sync_defects();
DROP FUNCTION fieldops_sync_owners(uuid, uuid);
