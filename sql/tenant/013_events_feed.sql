-- The tenant's event feed (GET /v1/events/list): _events, which held only
-- custom events, now holds every event the tenant produces.  The outbox
-- write of each change (fcgi/journal.c, outbox_add) inserts the same event
-- here in the same transaction, under the same id (evt_…, the webhook-id
-- of its deliveries).  event_type is the full type ("object.created",
-- "custom.<name>"); resource_type/resource_id name what it is about (a
-- custom event: "custom_event" and its cev_ id).  Rows are pruned with the
-- audit log, after the tenant's audit_retention_days (90 by default).
ALTER TABLE _events
  ADD COLUMN IF NOT EXISTS resource_type VARCHAR(64) NULL AFTER event_type,
  ADD COLUMN IF NOT EXISTS resource_id VARCHAR(64) NULL AFTER resource_type,
  MODIFY COLUMN actor_type ENUM('api_key','user','system') NOT NULL;

-- Custom events recorded before: their full type, their cev_ id as the
-- resource, and an evt_ id with the same time-sortable part, so that the
-- feed's id order stays its time order.  Assignments run left to right:
-- resource_id takes the old id before id changes.
UPDATE _events
  SET resource_id = id,
      id = CONCAT('evt_', SUBSTRING(id, 5)),
      event_type = CONCAT('custom.', event_type),
      resource_type = 'custom_event'
  WHERE resource_type IS NULL AND id LIKE 'cev\_%';
