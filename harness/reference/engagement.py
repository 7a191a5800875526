"""The engagement tab: activity cards and the engagement ranking."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from harness.reference import activity
from harness.reference.queries import ACTIVE, Connection, fetch, scalar, user_object
from harness.reference.scores import (
    EngagementParts,
    engagement_score,
    engagement_status,
    week_over_week,
)
from harness.reference.windows import Windows, midnight, utc_date

LIST_SIZE = 50
SPARKLINE_DAYS = 7


def days_since(last_login: datetime | None, today: date) -> int | None:
    """Whole UTC calendar days from the last login's date to today; None if never."""
    return None if last_login is None else (today - utc_date(last_login)).days


def cards(conn: Connection, w: Windows) -> dict[str, int]:
    """active_7d over the period (any user id); the others over active tracked users."""
    active = scalar(conn, """
        SELECT count(DISTINCT user_id) FROM user_sessions
        WHERE started_at >= %(start)s AND user_id IS NOT NULL""", {"start": w.start})
    at_risk = dormant = new = 0
    first_of_month = w.today.replace(day=1)
    for created_at, last_login in fetch(
            conn, f"SELECT created_at, last_login FROM users WHERE {ACTIVE}"):
        if created_at is not None and utc_date(created_at) >= first_of_month:
            new += 1
        since = days_since(last_login, w.today)
        if since is None or since > 30:
            dormant += 1
        elif since >= 8:
            at_risk += 1
    return {"active_7d": int(active), "at_risk": at_risk, "dormant": dormant,
            "new_this_month": new}


def sparklines(conn: Connection, w: Windows) -> dict[int, list[int]]:
    """Page views per user per UTC day over the last 7 days including today."""
    days = w.last_days(SPARKLINE_DAYS)
    per_day: dict[int, dict[date, int]] = defaultdict(dict)
    for uid, day, n in fetch(conn, """
            SELECT user_id, (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*)
            FROM page_views
            WHERE viewed_at >= %(start)s AND user_id IS NOT NULL
            GROUP BY user_id, day""", {"start": midnight(days[0])}):
        per_day[int(uid)][day] = int(n)
    return {uid: [counts.get(d, 0) for d in days] for uid, counts in per_day.items()}


def engagement_list(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Scored active users with a role other than UNAFFILIATED who had a session in the
    period or a score > 0; highest score first (ties by id), all of them."""
    parts = activity.engagement_parts(conn, w.start_30d)
    sessions = activity.session_totals(conn, w.start)
    current = activity.views(conn, w.start)
    previous = activity.views_between(conn, w.prev_start, w.start)
    spark = sparklines(conn, w)
    listed: list[dict[str, Any]] = []
    for uid, name, email, last_login in fetch(conn, f"""
            SELECT id, name, email, last_login FROM users
            WHERE {ACTIVE} AND role IS NOT NULL AND role <> 'UNAFFILIATED'
            ORDER BY id"""):
        score = engagement_score(parts.get(uid, EngagementParts()))
        n_sessions = sessions[uid].sessions if uid in sessions else 0
        if n_sessions == 0 and score == 0:
            continue
        views = current.get(uid, 0)
        listed.append({
            "user": user_object(uid, name, email), "score": score,
            "sessions": n_sessions, "page_views": views,
            "wow": week_over_week(views, previous.get(uid, 0)),
            "status": engagement_status(days_since(last_login, w.today), score),
            "sparkline": spark.get(uid, [0] * SPARKLINE_DAYS),
        })
    listed.sort(key=lambda row: (-row["score"], row["user"]["id"]))
    return listed


STATUSES = ("active", "at_risk", "dormant")


def engagement_tab(conn: Connection, w: Windows, status: str = "all") -> dict[str, Any]:
    """The whole engagement tab for the period of ``w``: the list's top 50 of ``status``
    (all: of every status), and how many users of the whole list have each status."""
    listed = engagement_list(conn, w)
    shown = [row for row in listed if status in ("all", row["status"])]
    return {**cards(conn, w), "engagement_list": shown[:LIST_SIZE],
            "statuses": {s: sum(row["status"] == s for row in listed) for s in STATUSES},
            "status_filter": None if status == "all" else status}
