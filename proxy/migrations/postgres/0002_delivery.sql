-- Delivery bookkeeping: when the last orderCall began (to reconcile a send
-- that was in doubt), whether it is in doubt, and when personal data was erased.
ALTER TABLE leads ADD COLUMN sent_at BIGINT;
ALTER TABLE leads ADD COLUMN in_doubt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN erased_at BIGINT;
-- Until when a lead is retried while CallKeeper is unreachable (reset by a resend).
ALTER TABLE leads ADD COLUMN deadline_at BIGINT;
CREATE INDEX leads_site_created ON leads (site, created_at);
