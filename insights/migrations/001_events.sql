-- Event storage: the durable record of every accepted event, the users' state the
-- events imply, the dead letters, and each sink's Kafka offsets.
-- Times are timestamptz (UTC in, UTC out). Every event table keeps the event's
-- event_id (unique) and its full JSON as sent (`raw`, extra fields included).
-- A page_leave is kept on its view's row (leave_event_id, leave_raw); one that
-- arrives before its view waits in state_events until the view comes.

-- Every accepted event id once, with the Kafka position of the copy that counted.
-- It is the idempotency guard: an event changes anything only when its id is new
-- here, in the same transaction as its effects.
CREATE TABLE event_ledger (
    event_id     text PRIMARY KEY,
    type         text NOT NULL,
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    "offset"     bigint NOT NULL,
    ts           timestamptz NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now()
);

-- Tracked users. A row can appear before its user_upsert (a login event came first):
-- such a row has upserted_at NULL and email NULL and is not a tracked user yet.
CREATE TABLE users (
    id                     bigint PRIMARY KEY,
    email                  text,
    name                   text,
    role                   text,
    is_active              boolean NOT NULL DEFAULT true,
    created_at             timestamptz,
    company                text,
    failed_login_attempts  integer NOT NULL DEFAULT 0,
    locked_until           timestamptz,
    last_login             timestamptz,
    upserted_at            timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_locked ON users (locked_until) WHERE locked_until IS NOT NULL;

CREATE TABLE user_sessions (
    session_id        text PRIMARY KEY,
    event_id          text NOT NULL UNIQUE,
    user_id           bigint,
    started_at        timestamptz NOT NULL,
    device_type       text,
    browser           text,
    duration_seconds  integer,
    clicks_count      integer,
    ended_at          timestamptz,
    raw               json NOT NULL
) WITH (fillfactor = 85);  -- room for HOT updates when session_end fills duration/clicks
CREATE INDEX user_sessions_started ON user_sessions (started_at);
CREATE INDEX user_sessions_user ON user_sessions (user_id, started_at);

CREATE TABLE page_views (
    event_id              text PRIMARY KEY,
    pageview_id           text NOT NULL UNIQUE,
    session_id            text,
    user_id               bigint,
    path                  text NOT NULL,
    viewed_at             timestamptz NOT NULL,
    load_time_ms          integer,
    time_on_page_seconds  integer,
    scroll_depth_percent  integer,
    raw                   json NOT NULL,
    leave_event_id        text,
    leave_raw             json
) WITH (fillfactor = 85);  -- room for HOT updates when a late page_leave fills time/scroll
CREATE INDEX page_views_viewed ON page_views (viewed_at);
CREATE INDEX page_views_user ON page_views (user_id, viewed_at);
CREATE INDEX page_views_session ON page_views (session_id, viewed_at);

CREATE TABLE js_errors (
    event_id     text PRIMARY KEY,
    session_id   text NOT NULL,
    user_id      bigint,            -- as sent; the error counts for its session's user
    message      text NOT NULL,
    source       text,
    line         integer,
    occurred_at  timestamptz NOT NULL,
    raw          json NOT NULL
);
CREATE INDEX js_errors_occurred ON js_errors (occurred_at);
CREATE INDEX js_errors_session ON js_errors (session_id, occurred_at);

CREATE TABLE security_alerts (
    event_id    text PRIMARY KEY,
    user_email  text NOT NULL,
    alert_type  text NOT NULL,
    severity    text,
    user_id     bigint,
    created_at  timestamptz NOT NULL,
    raw         json NOT NULL
);
CREATE INDEX security_alerts_created ON security_alerts (created_at);
CREATE INDEX security_alerts_email ON security_alerts (user_email, created_at);

CREATE TABLE email_logs (
    event_id    text PRIMARY KEY,
    user_id     bigint NOT NULL,
    email_type  text NOT NULL,
    created_at  timestamptz NOT NULL,
    raw         json NOT NULL
);
CREATE INDEX email_logs_type ON email_logs (email_type, created_at);
CREATE INDEX email_logs_user ON email_logs (user_id, email_type, created_at);

CREATE TABLE search_queries (
    event_id     text PRIMARY KEY,
    user_id      bigint,
    session_id   text,
    query        text NOT NULL,
    searched_at  timestamptz NOT NULL,
    raw          json NOT NULL
);
CREATE INDEX search_queries_user ON search_queries (user_id, searched_at);

CREATE TABLE conversion_events (
    event_id      text PRIMARY KEY,
    user_id       bigint,
    session_id    text,
    event_type    text NOT NULL,
    converted_at  timestamptz NOT NULL,
    raw           json NOT NULL
);
CREATE INDEX conversion_events_user ON conversion_events (user_id, converted_at);

-- Events that change rows rather than add them: user_upsert, login_succeeded,
-- login_failed, account_locked, account_unlocked, session_end, and the page_leave
-- events that arrived before their view. A session_end or page_leave whose row has
-- not arrived yet waits here and is applied when the row is inserted.
CREATE TABLE state_events (
    event_id     text PRIMARY KEY,
    type         text NOT NULL,
    user_id      bigint,
    session_id   text,
    pageview_id  text,
    ts           timestamptz NOT NULL,
    raw          json NOT NULL
);
CREATE INDEX state_events_session_end ON state_events (session_id) WHERE type = 'session_end';
CREATE INDEX state_events_page_leave ON state_events (pageview_id) WHERE type = 'page_leave';

-- Dead letters: every message that could not be accepted, byte for byte, with why.
CREATE TABLE rejected_events (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    "offset"     bigint NOT NULL,
    key          bytea,
    value        bytea NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, "partition", "offset")
);
CREATE INDEX rejected_events_reason ON rejected_events (reason, rejected_at);

-- Per sink and partition: the next Kafka offset the sink has not applied yet.
-- Written in the same transaction as the sink's data.
CREATE TABLE sink_offsets (
    sink         text NOT NULL,
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    next_offset  bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, topic, "partition")
);
