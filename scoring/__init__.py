"""The reference dashboard's formulas as pure functions: scores, statuses, windows, ratios.

Nothing here touches Kafka, Redis, PostgreSQL, HTTP, the environment or the clock:
every function that depends on "now" takes it (a ``date`` or ``datetime``) as an
argument. The consumer (to rank users as events arrive) and the web app (to
explain and recompute at read time) both call these.
"""

from scoring.components import Component
from scoring.engagement import (
    ENGAGEMENT_CAP,
    EngagementCounts,
    Status,
    avg_sessions_week,
    daily_trend_score,
    engagement_components,
    engagement_score,
    is_new_this_month,
    login_recency,
    status,
    wow,
)
from scoring.pages import (
    DEFAULT_SECTIONS,
    KEY_PAGES,
    SLOW_PAGE_MS,
    SectionMap,
    is_key_page,
    is_slow,
    sections_of,
    truncated_mean,
)
from scoring.paths import DROPOFF_MIN_VIEWS, LENGTH_BUCKETS, exit_rate, length_bucket
from scoring.problems import (
    PROBLEM_CAP,
    PROBLEM_WEIGHTS,
    ProblemCounts,
    problem_components,
    problem_score,
)
from scoring.ratios import bar_pct, capped_pct
from scoring.windows import (
    PERIOD_DAYS,
    PERIODS,
    WINDOW_STARTS,
    Period,
    day_number,
    from_day_number,
    iso_week_start,
    last_days,
    midnight,
    month_start,
    parse_period,
    period_start,
    previous_start,
    weekday_row,
)

__all__ = [
    "DEFAULT_SECTIONS",
    "DROPOFF_MIN_VIEWS",
    "ENGAGEMENT_CAP",
    "KEY_PAGES",
    "LENGTH_BUCKETS",
    "PERIODS",
    "PERIOD_DAYS",
    "PROBLEM_CAP",
    "PROBLEM_WEIGHTS",
    "SLOW_PAGE_MS",
    "WINDOW_STARTS",
    "Component",
    "EngagementCounts",
    "Period",
    "ProblemCounts",
    "SectionMap",
    "Status",
    "avg_sessions_week",
    "bar_pct",
    "capped_pct",
    "daily_trend_score",
    "day_number",
    "engagement_components",
    "engagement_score",
    "exit_rate",
    "from_day_number",
    "is_key_page",
    "is_new_this_month",
    "is_slow",
    "iso_week_start",
    "last_days",
    "length_bucket",
    "login_recency",
    "midnight",
    "month_start",
    "parse_period",
    "period_start",
    "previous_start",
    "problem_components",
    "problem_score",
    "sections_of",
    "status",
    "truncated_mean",
    "weekday_row",
    "wow",
]
