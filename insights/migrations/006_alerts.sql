-- Alert rules, what each remembers per user, the alerts they fired, and the outbox that
-- delivers them to hooks (insights.alerts). Alerts are recorded by the consumer's
-- projection in the same transaction as the states they come from, keyed by
-- (rule, user, crossing, kind): a replayed batch cannot record one twice.

CREATE TABLE alert_rules (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    kind            text NOT NULL CHECK (kind IN ('threshold', 'rise', 'transition')),
    metric          text NOT NULL CHECK (metric IN ('problem_day', 'problem_week',
                        'problem_month', 'engagement', 'locked', 'status')),
    severity        text NOT NULL DEFAULT 'warning'
                        CHECK (severity IN ('info', 'warning', 'critical')),
    threshold       integer NOT NULL DEFAULT 0,        -- T (threshold) or D (rise), points
    hysteresis      integer NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
    window_minutes  integer NOT NULL DEFAULT 0 CHECK (window_minutes >= 0),
    from_status     text NOT NULL DEFAULT '*',
    to_status       text NOT NULL DEFAULT '',
    roles           text[],                             -- NULL: every tracked user
    cooldown_s      integer NOT NULL DEFAULT 3600 CHECK (cooldown_s >= 0),
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'transition' OR metric = 'status'),
    CHECK ((kind = 'transition') = (metric = 'status'))
);

-- The defaults a new installation starts with (an operator may change or disable them).
INSERT INTO alert_rules (name, kind, metric, severity, threshold, hysteresis, cooldown_s)
VALUES ('problem score >= 60', 'threshold', 'problem_week', 'warning', 60, 10, 3600),
       ('account locked', 'threshold', 'locked', 'critical', 1, 0, 600);
INSERT INTO alert_rules (name, kind, metric, severity, from_status, to_status, cooldown_s)
VALUES ('engaged user now at risk', 'transition', 'status', 'info', 'active', 'at_risk',
        86400);

-- Per rule and user: only users a rule has something to remember of have a row.
-- ``stamp`` orders readings across consumers (Redis time, µs, taken before the
-- reading): an older reading never replaces a newer one.
CREATE TABLE alert_states (
    rule_id     bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL,
    firing      boolean NOT NULL DEFAULT false,
    value       text,
    crossings   integer NOT NULL DEFAULT 0,
    fired_at    timestamptz,
    history     jsonb NOT NULL DEFAULT '[]',
    stamp       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_id, user_id)
);

CREATE TABLE alert_hooks (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    url              text NOT NULL,
    format           text NOT NULL DEFAULT 'json'
                         CHECK (format IN ('json', 'slack', 'teams', 'alertmanager')),
    -- The signing secrets, encrypted with the key from the environment (a dump alone
    -- does not reveal them); the previous one stays valid while receivers rotate.
    secret           bytea NOT NULL,
    previous_secret  bytea,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    failing_since    timestamptz,      -- first failed delivery since the last success
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One notification per rule and group of alerts: its id is the ``webhook-id`` every
-- hook and every retry sees.
CREATE TABLE alert_notifications (
    id          text PRIMARY KEY,
    rule_id     bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('firing', 'resolved', 'test')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_notifications_rule ON alert_notifications (rule_id, created_at);

CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    rule_id          bigint NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    user_id          bigint NOT NULL,
    crossing         integer NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('firing', 'resolved')),
    value            text NOT NULL,
    previous         text,
    detail           jsonb NOT NULL DEFAULT '{}',    -- user, components, period
    occurred_at      timestamptz NOT NULL,
    notification_id  text REFERENCES alert_notifications (id),
    UNIQUE (rule_id, user_id, crossing, kind)
);
CREATE INDEX alerts_waiting ON alerts (rule_id, id) WHERE notification_id IS NULL;
CREATE INDEX alerts_recent ON alerts (occurred_at DESC);

CREATE TABLE alert_deliveries (
    id               bigserial PRIMARY KEY,
    notification_id  text NOT NULL REFERENCES alert_notifications (id) ON DELETE CASCADE,
    hook_id          bigint NOT NULL REFERENCES alert_hooks (id) ON DELETE CASCADE,
    body             bytea NOT NULL,                   -- the same bytes on every attempt
    state            text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,                      -- a dispatcher is sending it
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    last_error       text,
    UNIQUE (notification_id, hook_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE alert_attempts (
    delivery_id  bigint NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  integer NOT NULL,
    status_code  integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);
