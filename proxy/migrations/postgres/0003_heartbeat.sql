-- One row per writer, rewritten by /readyz to prove the store takes a write.
-- Holds no personal data.
CREATE TABLE heartbeat (
    name TEXT PRIMARY KEY,
    at   BIGINT NOT NULL  -- unix ms of the last write
);
