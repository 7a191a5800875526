"""The reference dashboard's formulas as pure functions: scores, statuses, windows, ratios.

Nothing here touches Kafka, Redis, PostgreSQL, HTTP, the environment or the clock:
every function that depends on "now" takes it (a ``date`` or ``datetime``) as an
argument. The consumer (to rank users as events arrive) and the web app (to
explain and recompute at read time) both call these.
"""
