-- Every callback request is a lead, stored before the widget is answered.
-- Portable SQL: the same schema serves SQLite and PostgreSQL.
CREATE TABLE leads (
    id              TEXT PRIMARY KEY,          -- the status token the widget holds (random, 128 bits)
    site            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_hash       TEXT NOT NULL,             -- SHA-256 of the request body, for 409 on reuse
    phone           TEXT NOT NULL,             -- digits; erased by retention
    ip              TEXT,                      -- the visitor's address; erased by retention
    request         TEXT NOT NULL,             -- the validated CallbackRequest as JSON
    state           TEXT NOT NULL,             -- received | queued | sending | ordered | scheduled | in_progress | succeeded | failed | halted
    reason          TEXT,                      -- why failed or halted
    upstream_id     TEXT,                      -- CallKeeper's call id, never shown to the widget
    status_code     BIGINT,
    status2_code    BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,  -- orderCall attempts
    next_attempt_at BIGINT NOT NULL,            -- unix ms: when the forwarder or tracker looks again
    version         BIGINT NOT NULL DEFAULT 1,  -- bumped on every visible change; the SSE event id
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (site, idempotency_key)
);

CREATE INDEX leads_due ON leads (state, next_attempt_at);
CREATE INDEX leads_phone ON leads (site, phone, created_at);
