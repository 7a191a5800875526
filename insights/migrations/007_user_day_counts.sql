-- Per-user day counters of the insert-only events (consumers.daycounts): page views,
-- slow page views (load over 3000 ms), conversions, searches and password resets of
-- each user per day (days since 1970-01-01, UTC). The durable write bumps them in the
-- transaction that stores the events, for the events it applies (each id once), so
-- the projection reads one row per user and day instead of counting the event rows
-- again. Filled here from what the event tables already hold; apply it with the
-- consumers stopped, as every migration.

CREATE TABLE user_day_counts (
    user_id  bigint  NOT NULL,
    day      integer NOT NULL,
    pv       integer NOT NULL DEFAULT 0,
    sp       integer NOT NULL DEFAULT 0,
    cv       integer NOT NULL DEFAULT 0,
    sq       integer NOT NULL DEFAULT 0,
    pr       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);

INSERT INTO user_day_counts (user_id, day, pv, sp, cv, sq, pr)
SELECT user_id, day, sum(pv), sum(sp), sum(cv), sum(sq), sum(pr) FROM (
    SELECT user_id, ((viewed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01') AS day,
           1 AS pv, coalesce((load_time_ms > 3000)::int, 0) AS sp, 0 AS cv, 0 AS sq, 0 AS pr
    FROM page_views WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, ((converted_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), 0, 0, 1, 0, 0
    FROM conversion_events WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, ((searched_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), 0, 0, 0, 1, 0
    FROM search_queries WHERE user_id IS NOT NULL
    UNION ALL
    SELECT user_id, ((created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), 0, 0, 0, 0, 1
    FROM email_logs WHERE email_type = 'password_reset'
) AS counted
GROUP BY user_id, day;
