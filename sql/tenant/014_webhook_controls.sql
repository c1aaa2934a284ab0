-- Webhook delivery controls (handlers/webhooks.c, fcgi/webhook_send.c).
--
-- headers: the names of the webhook's custom headers (a JSON array, shown
-- with masked values); headers_enc: the names and values as one JSON
-- object sealed under the master key.  rate_limit: deliveries per second
-- (NULL: no limit).  failing_since: when the current run of failed
-- deliveries began (NULL after a success); a run longer than
-- webhook_disable_after_s disables the webhook.
ALTER TABLE _webhooks
  ADD COLUMN IF NOT EXISTS headers LONGTEXT NULL CHECK (headers IS NULL OR JSON_VALID(headers)),
  ADD COLUMN IF NOT EXISTS headers_enc MEDIUMTEXT NULL,
  ADD COLUMN IF NOT EXISTS rate_limit INT NULL,
  ADD COLUMN IF NOT EXISTS failing_since DATETIME(3) NULL;

-- The delivery log filtered by time or by event.
ALTER TABLE _webhook_deliveries
  ADD INDEX IF NOT EXISTS ix_whd_created (created_at, id);
