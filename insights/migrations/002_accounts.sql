-- Dashboard accounts and their API tokens. They live apart from the tracked
-- `users` (semantics 34): an account logs into the dashboard, it is never counted
-- in any tab.

CREATE TABLE accounts (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL UNIQUE,
    role           text NOT NULL,
    password_hash  text,            -- set once dashboard log-in by password exists
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 (hex) of a token is kept: a leaked table gives no usable token,
-- and the unique index makes the look-up by hash the whole comparison.
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          text,
    token_hash    text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);
