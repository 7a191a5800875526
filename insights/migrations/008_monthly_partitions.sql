-- The large event tables range-partitioned by month of their event time (UTC), so that
-- retention (insights.record.retention) drops whole months instead of deleting rows.
--
-- * Partitioned: page_views, js_errors, security_alerts, email_logs, search_queries,
--   conversion_events, state_events. Each has a partition per month, named
--   TABLE_yYYYYmMM, and a default partition TABLE_default for rows of months without
--   one: the rows a retention run keeps because a profile still shows them, and rows
--   written by anything but the consumer (which creates a month's partitions before
--   it writes into that month).
-- * Not partitioned: user_sessions (profiles read every session of a user: the all-time
--   totals), the users, and event_ledger, which keeps event_id unique across all
--   months; a BRIN index on its ts lets retention find its old rows cheaply.
-- * A partitioned table's unique keys must hold its partition column, so the event
--   tables' primary key becomes (event_id, time): event_id stays unique because the
--   ledger takes each id once before any row is stored. page_views.pageview_id stays
--   unique through pageview_ids, where the consumer claims each view's id.
-- * retention_cutoff holds the first day a retention keeps; the consumer refuses
--   older events against it (insights.record.retention).
--
-- Apply it with the consumers stopped, as every migration; it copies the tables.

-- The month's partitions of every partitioned table, created where missing. Rows of that
-- month waiting in a default partition move into the new one. Concurrent callers
-- serialise on an advisory lock; a lock not granted within 2 s fails the call (the
-- caller tries again later) rather than queueing writers behind it. Returns how many
-- partitions were created.
CREATE FUNCTION event_month_partitions(month date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp
                      AT TIME ZONE 'UTC';
    parent record;
    part text;
    created integer := 0;
BEGIN
    PERFORM set_config('lock_timeout', '2s', true);
    PERFORM pg_advisory_xact_lock(1095188595);
    FOR parent IN
        SELECT c.relname AS name, a.attname AS col, d.reloptions AS options
        FROM pg_partitioned_table p
        JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
        LEFT JOIN pg_class d ON d.relname = c.relname || '_default'
             AND d.relnamespace = c.relnamespace
        WHERE c.relnamespace = current_schema()::regnamespace AND p.partstrat = 'r'
    LOOP
        part := parent.name || to_char(lo AT TIME ZONE 'UTC', '"_y"YYYY"m"MM');
        CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       part, parent.name);
        IF parent.options IS NOT NULL THEN      -- the default partition's storage options
            EXECUTE format('ALTER TABLE %I SET (%s)', part, array_to_string(parent.options, ','));
        END IF;
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *)'
                       ' INSERT INTO %I SELECT * FROM moved',
                       parent.name || '_default', parent.col, parent.col, part) USING lo, hi;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       parent.name, part, lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;

ALTER TABLE page_views RENAME TO old_page_views;
ALTER TABLE js_errors RENAME TO old_js_errors;
ALTER TABLE security_alerts RENAME TO old_security_alerts;
ALTER TABLE email_logs RENAME TO old_email_logs;
ALTER TABLE search_queries RENAME TO old_search_queries;
ALTER TABLE conversion_events RENAME TO old_conversion_events;
ALTER TABLE state_events RENAME TO old_state_events;

CREATE TABLE page_views (LIKE old_page_views INCLUDING DEFAULTS) PARTITION BY RANGE (viewed_at);
CREATE TABLE js_errors (LIKE old_js_errors INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
CREATE TABLE security_alerts (LIKE old_security_alerts INCLUDING DEFAULTS)
    PARTITION BY RANGE (created_at);
CREATE TABLE email_logs (LIKE old_email_logs INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
CREATE TABLE search_queries (LIKE old_search_queries INCLUDING DEFAULTS)
    PARTITION BY RANGE (searched_at);
CREATE TABLE conversion_events (LIKE old_conversion_events INCLUDING DEFAULTS)
    PARTITION BY RANGE (converted_at);
CREATE TABLE state_events (LIKE old_state_events INCLUDING DEFAULTS) PARTITION BY RANGE (ts);

-- Room for HOT updates when a late page_leave fills time on page and scroll depth.
CREATE TABLE page_views_default PARTITION OF page_views DEFAULT WITH (fillfactor = 85);
CREATE TABLE js_errors_default PARTITION OF js_errors DEFAULT;
CREATE TABLE security_alerts_default PARTITION OF security_alerts DEFAULT;
CREATE TABLE email_logs_default PARTITION OF email_logs DEFAULT;
CREATE TABLE search_queries_default PARTITION OF search_queries DEFAULT;
CREATE TABLE conversion_events_default PARTITION OF conversion_events DEFAULT;
CREATE TABLE state_events_default PARTITION OF state_events DEFAULT;

SELECT event_month_partitions(month) FROM (
    SELECT date_trunc('month', viewed_at AT TIME ZONE 'UTC')::date AS month FROM old_page_views
    UNION SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM old_js_errors
    UNION SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date
          FROM old_security_alerts
    UNION SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date FROM old_email_logs
    UNION SELECT date_trunc('month', searched_at AT TIME ZONE 'UTC')::date
          FROM old_search_queries
    UNION SELECT date_trunc('month', converted_at AT TIME ZONE 'UTC')::date
          FROM old_conversion_events
    UNION SELECT date_trunc('month', ts AT TIME ZONE 'UTC')::date FROM old_state_events
) months;

INSERT INTO page_views SELECT * FROM old_page_views;
INSERT INTO js_errors SELECT * FROM old_js_errors;
INSERT INTO security_alerts SELECT * FROM old_security_alerts;
INSERT INTO email_logs SELECT * FROM old_email_logs;
INSERT INTO search_queries SELECT * FROM old_search_queries;
INSERT INTO conversion_events SELECT * FROM old_conversion_events;
INSERT INTO state_events SELECT * FROM old_state_events;

-- The claims that keep pageview_id unique across partitions (taken before the old table,
-- and with it its unique constraint, goes); the consumer claims each view it stores.
CREATE TABLE pageview_ids (
    pageview_id  text PRIMARY KEY,
    viewed_at    timestamptz NOT NULL
);
INSERT INTO pageview_ids SELECT pageview_id, viewed_at FROM old_page_views;
CREATE INDEX pageview_ids_viewed ON pageview_ids USING brin (viewed_at);

DROP TABLE old_page_views, old_js_errors, old_security_alerts, old_email_logs,
    old_search_queries, old_conversion_events, old_state_events;

-- The same indexes as before; each unique key now holds the partition column.
ALTER TABLE page_views ADD PRIMARY KEY (event_id, viewed_at);
CREATE INDEX page_views_viewed ON page_views (viewed_at);
CREATE INDEX page_views_user ON page_views (user_id, viewed_at);
CREATE INDEX page_views_session ON page_views (session_id, viewed_at);
CREATE INDEX page_views_pageview ON page_views (pageview_id);

ALTER TABLE js_errors ADD PRIMARY KEY (event_id, occurred_at);
CREATE INDEX js_errors_occurred ON js_errors (occurred_at);
CREATE INDEX js_errors_session ON js_errors (session_id, occurred_at);

ALTER TABLE security_alerts ADD PRIMARY KEY (event_id, created_at);
CREATE INDEX security_alerts_created ON security_alerts (created_at);
CREATE INDEX security_alerts_email ON security_alerts (user_email, created_at);

ALTER TABLE email_logs ADD PRIMARY KEY (event_id, created_at);
CREATE INDEX email_logs_type ON email_logs (email_type, created_at);
CREATE INDEX email_logs_user ON email_logs (user_id, email_type, created_at);

ALTER TABLE search_queries ADD PRIMARY KEY (event_id, searched_at);
CREATE INDEX search_queries_user ON search_queries (user_id, searched_at);

ALTER TABLE conversion_events ADD PRIMARY KEY (event_id, converted_at);
CREATE INDEX conversion_events_user ON conversion_events (user_id, converted_at);

ALTER TABLE state_events ADD PRIMARY KEY (event_id, ts);
CREATE INDEX state_events_session_end ON state_events (session_id) WHERE type = 'session_end';
CREATE INDEX state_events_page_leave ON state_events (pageview_id) WHERE type = 'page_leave';

-- The first day a retention keeps (NULL: all). Each retention run raises it before it
-- drops anything, and never lowers it (the ids of older events are forgotten). The
-- consumer reads it, locked for share, in every batch's transaction: a run raising it
-- waits for the batches in flight, and every later batch refuses older events.
CREATE TABLE retention_cutoff (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_day  date
);
INSERT INTO retention_cutoff VALUES (true, NULL);

-- Retention finds the ledger's old rows through this (the ledger is written in time order
-- near enough for BRIN's block ranges).
CREATE INDEX event_ledger_ts ON event_ledger USING brin (ts);
