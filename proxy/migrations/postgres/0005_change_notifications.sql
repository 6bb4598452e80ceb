-- Live status across replicas: every change of a lead's state or visible
-- version is announced on channel `lead_changes` with the lead's id (no
-- personal data), delivered to listeners when the writing transaction
-- commits. Each replica listens and wakes its own status streams.
CREATE FUNCTION notify_lead_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('lead_changes', NEW.id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER leads_changed
    AFTER UPDATE ON leads
    FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION notify_lead_change();
