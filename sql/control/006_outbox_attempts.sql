-- An event the fan-out cannot process (the database refuses what it would
-- write) is tried a few times within later passes, then set aside in the
-- DLQ; attempts and last_error record that, so one bad event never holds
-- up the queue behind it.
ALTER TABLE outbox
  ADD COLUMN IF NOT EXISTS attempts INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS last_error TEXT NULL;
