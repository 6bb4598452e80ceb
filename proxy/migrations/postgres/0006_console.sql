-- The owner's console (issue 15); as migrations/sqlite/0005_console.sql.
-- A lead ordered from the console's install preview is a test.
ALTER TABLE leads ADD COLUMN is_test BIGINT NOT NULL DEFAULT 0;

-- Each lead's timeline, written by triggers so no write path can forget one.
CREATE TABLE lead_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    state        TEXT NOT NULL,
    status_code  BIGINT,
    status2_code BIGINT,
    call_attempt BIGINT NOT NULL DEFAULT 0,
    reason       TEXT
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, seq);

CREATE FUNCTION record_lead_event() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_events (lead_id, at, state) VALUES (NEW.id, NEW.created_at, NEW.state);
    ELSE
        INSERT INTO lead_events (lead_id, at, state, status_code, status2_code, call_attempt, reason)
        VALUES (NEW.id, NEW.updated_at, NEW.state, NEW.status_code, NEW.status2_code, NEW.call_attempt, NEW.reason);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER lead_events_received
    AFTER INSERT ON leads
    FOR EACH ROW
    EXECUTE FUNCTION record_lead_event();

CREATE TRIGGER lead_events_changed
    AFTER UPDATE ON leads
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
       OR OLD.status_code IS DISTINCT FROM NEW.status_code
       OR OLD.status2_code IS DISTINCT FROM NEW.status2_code
       OR OLD.call_attempt IS DISTINCT FROM NEW.call_attempt)
    EXECUTE FUNCTION record_lead_event();
