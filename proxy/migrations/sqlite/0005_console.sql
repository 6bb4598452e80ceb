-- The owner's console (issue 15).
-- A lead ordered from the console's install preview is a test: kept, sent
-- and shown like any other, marked so the owner does not count it as a visitor.
ALTER TABLE leads ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;

-- Each lead's timeline: one row per state or CallKeeper status it took,
-- written by the database itself (triggers), so no write path can forget
-- one. No personal data: the reason is the proxy's or CallKeeper's words.
CREATE TABLE lead_events (
    seq          INTEGER PRIMARY KEY,  -- the order they happened in (two may share a millisecond)
    lead_id      TEXT NOT NULL,
    at           BIGINT NOT NULL,   -- unix ms (the lead's updated_at)
    state        TEXT NOT NULL,
    status_code  BIGINT,
    status2_code BIGINT,
    call_attempt BIGINT NOT NULL DEFAULT 0,
    reason       TEXT
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, seq);

CREATE TRIGGER lead_events_received AFTER INSERT ON leads
BEGIN
    INSERT INTO lead_events (lead_id, at, state) VALUES (NEW.id, NEW.created_at, NEW.state);
END;

CREATE TRIGGER lead_events_changed AFTER UPDATE ON leads
WHEN OLD.state IS NOT NEW.state
  OR OLD.status_code IS NOT NEW.status_code
  OR OLD.status2_code IS NOT NEW.status2_code
  OR OLD.call_attempt IS NOT NEW.call_attempt
BEGIN
    INSERT INTO lead_events (lead_id, at, state, status_code, status2_code, call_attempt, reason)
    VALUES (NEW.id, NEW.updated_at, NEW.state, NEW.status_code, NEW.status2_code, NEW.call_attempt, NEW.reason);
END;
