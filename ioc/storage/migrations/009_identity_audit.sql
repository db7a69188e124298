-- Users with argon2 password hashes, feed API keys (only their SHA-256 is kept), revoked
-- refresh tokens, and the append-only audit log.
CREATE TABLE IF NOT EXISTS users (
    username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'planner', 'admin')),
    password_hash text NOT NULL,
    display_name  text,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id      text PRIMARY KEY,
    feed        text NOT NULL,
    sha256      text NOT NULL UNIQUE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- A rotated key keeps working until this moment, so a source can switch without a gap.
    expires_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_feed ON api_keys (feed);

CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    id      bigserial PRIMARY KEY,
    time    timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    role    text,
    action  text NOT NULL,
    target  text,
    outcome text NOT NULL CHECK (outcome IN ('ok', 'refused')),
    ip      text,
    detail  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time DESC);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, time DESC);

-- Append-only: rows may be added, never changed or removed.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
