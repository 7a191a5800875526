-- Dashboard log-in sessions. The cookie holds a random token; only its SHA-256
-- (hex) is stored, so a leaked table opens no session. A session ends at logout,
-- when idle past its idle limit, or at its absolute expiry.

CREATE TABLE web_sessions (
    token_hash    text PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,           -- the synchronizer token of this session's forms
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,    -- absolute end, whatever the activity
    ended_at      timestamptz              -- logout
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);
