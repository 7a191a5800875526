"""How the API writes times and days (``api.md``: RFC 3339 in UTC, days ``YYYY-MM-DD``)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with a ``Z``: ``2026-03-01T12:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rfc3339_or_none(moment: datetime | None) -> str | None:
    """:func:`rfc3339`, keeping None (a user who never logged in)."""
    return None if moment is None else rfc3339(moment)


def day(value: date) -> str:
    """A calendar day as ``YYYY-MM-DD``."""
    return value.isoformat()
