"""The dispatcher (``insights alerts dispatch``): groups waiting alerts and sends deliveries.

It wakes when the consumer records alerts (PostgreSQL ``NOTIFY`` on
``CHANNEL``, sent at the commit) and at least every ``POLL_S`` for the
retries that came due. Each round groups the waiting alerts
(``outbox.group``), leases due deliveries (``outbox.claim``) and sends them side
by side, each to the address its URL was checked against just before
(``destination``), signed (``signing``). Several dispatchers may run: a lease
keeps a delivery to one of them. A server outage is logged and retried; the
loop ends on ``stop``.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime

import msgspec
import psycopg2
import redis

from insights.alerts import outbox, sealing, signing
from insights.alerts.destination import Allowed, Answer, RefusedUrl, check, post
from insights.alerts.metrics import DispatcherMetrics
from insights.alerts.outbox import Claimed
from insights.alerts.store import CHANNEL
from insights.database import Connection, connect
from insights.settings import Settings

log = logging.getLogger(__name__)
POLL_S = 0.5
SENDERS = 8
OUTAGE_WAIT_S = 2.0


class Dispatcher:
    """One dispatcher process's loop (see the module docstring)."""

    def __init__(self, settings: Settings, postgres_url: str,
                 announce: Callable[[], None] = lambda: None) -> None:
        self._settings, self._url = settings, postgres_url
        self._announce = announce
        self._key = sealing.key(settings)
        self._allowed = Allowed.parse(settings.hooks_allow)
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="alert-send")
        self.stop = threading.Event()
        self.metrics = DispatcherMetrics(postgres_url)

    def run(self) -> None:
        """Dispatch until ``stop`` is set; a PostgreSQL outage is waited out."""
        log.info("dispatching alerts (hooks allowed beyond public HTTPS: %s)",
                 self._settings.hooks_allow or "none")
        self.metrics.serve(self._settings.alerts_metrics_port, self._settings.metrics_host)
        while not self.stop.is_set():
            try:
                with closing(connect(self._url)) as conn, closing(self._listener()) as ears:
                    while not self.stop.is_set():
                        busy = self.round(conn)
                        if not busy:
                            _wait(ears, POLL_S)
            except psycopg2.Error as exc:
                log.warning("PostgreSQL unavailable, dispatching again in %.0f s: %s",
                            OUTAGE_WAIT_S, exc)
                self.stop.wait(OUTAGE_WAIT_S)
        self._pool.shutdown(wait=True)

    def round(self, conn: Connection) -> bool:
        """Group, claim and send once; whether there was anything to do."""
        made = outbox.group(conn, self._settings)
        self.metrics.notifications.inc(made)
        claimed = outbox.claim(conn, SENDERS)
        answers = list(self._pool.map(self._attempt, claimed))
        for delivery, answer in zip(claimed, answers, strict=True):
            if answer is None:
                outbox.fail_unsendable(conn, delivery, "the hook is disabled")
                self.metrics.deliveries.labels("failed").inc()
            else:
                outbox.finish(conn, delivery, answer, self._settings)
                self.metrics.deliveries.labels(outbox.verdict(answer)).inc()
        if made or claimed:
            self._announce()          # the Alerts tab shows where deliveries stand
        return bool(made or claimed)

    def _attempt(self, delivery: Claimed) -> Answer | None:
        """Send one delivery (None: its hook is disabled); never raises."""
        if not delivery.enabled:
            return None
        try:
            target = check(delivery.url, self._allowed)
            secrets = [sealing.unseal(s, self._key) for s in delivery.secrets]
            headers = signing.headers(delivery.notification_id, _now(delivery), delivery.body,
                                      secrets)
        except (RefusedUrl, sealing.MissingKey) as exc:
            return Answer(None, b"", 0.0, f"refused: {exc}")
        except Exception as exc:       # a defect: this attempt fails, the loop goes on
            log.exception("delivery %d could not be prepared", delivery.id)
            return Answer(None, b"", 0.0, f"{type(exc).__name__}: {exc}")
        return post(target, delivery.body, headers, self._settings.alerts_timeout_s)

    def _listener(self) -> Connection:
        conn = connect(self._url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")
        return conn


def _now(delivery: Claimed) -> datetime:
    """The signature's timestamp: PostgreSQL's time at the claim (one clock for all)."""
    return delivery.now


def _wait(conn: Connection, timeout_s: float) -> None:
    """Sleep until a notification arrives on ``conn`` or ``timeout_s`` passes."""
    if select.select([conn], [], [], timeout_s)[0]:
        conn.poll()
        conn.notifies.clear()


class Announcer:
    """Tells the web app's live views that deliveries moved, on ``channel``: the one the
    consumers announce their batches on (the read model's ``Keys.changes``), naming no
    user, so the tabs' kept documents stay and the Alerts tab is read again. Best
    effort: Redis being down is logged."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._client, self._channel = client, channel

    def __call__(self) -> None:
        message = msgspec.json.encode({"at": datetime.now(UTC).isoformat(), "users": []})
        try:
            self._client.publish(self._channel, message)
        except redis.RedisError as exc:
            log.info("deliveries not announced to the web app: %s", exc)
