"""Retention on a schedule: a consumer process applies it hourly in a thread of its own.

Every consumer may run the schedule; the runs serialise on the retention's advisory
lock, so one does the work and the others find nothing left. A run that fails (a
PostgreSQL outage, a month whose locks were not granted) is logged and tried again
at the next hour.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing
from datetime import UTC, datetime

import psycopg2

from insights import database
from insights.record import retention

log = logging.getLogger(__name__)
INTERVAL_S = 3600.0


class RetentionSchedule:
    """Applies a retention of ``months`` now and every ``interval_s`` until ``stop``."""

    def __init__(self, postgres_url: str, months: int, interval_s: float = INTERVAL_S) -> None:
        retention.check(months)
        self._url, self._months, self._interval = postgres_url, months, interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.run_once()
            self._stopped.wait(self._interval)

    def run_once(self) -> retention.Report | None:
        """One run at the wall clock's time; None when skipped (another run, an outage)."""
        try:
            with closing(database.connect(self._url)) as conn:
                report = retention.run(conn, datetime.now(UTC), self._months)
        except psycopg2.Error as exc:
            log.warning("retention skipped, PostgreSQL failed: %s", str(exc).strip())
            return None
        except Exception:      # a defect: logged whole, and the schedule goes on
            log.exception("retention failed")
            return None
        if report is not None and (report.dropped or report.trimmed or report.ledger):
            log.info("retention before %s: %d month partitions dropped, %d rows trimmed from"
                     " the default partitions, %d ledger ids deleted", report.cutoff,
                     len(report.dropped), report.trimmed, report.ledger)
        return report
