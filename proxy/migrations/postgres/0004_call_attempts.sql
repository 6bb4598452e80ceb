-- CallKeeper's own retries (the `interval` setting): which attempt the call is
-- on, and when we expect the next one (unix ms), so the visitor can be told.
ALTER TABLE leads ADD COLUMN call_attempt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN next_call_at BIGINT;
