"""Whether the Redis keys are the read model PostgreSQL vouches for, as the web app sees it.

Every document (tab, profile, export, live view) is checked after it was read:
the generation Redis holds then (read with the document's freshness, in the same
round trip) must be the one PostgreSQL records for the prefix
(``insights.readmodel.generation``). A Redis that lost its data has none (or another), and
the answer is a 503 "rebuilding" (``web.outage.Unavailable``) instead of numbers
read from empty keys. PostgreSQL is asked only when Redis's generation is not the
one last vouched for. A backfill builds its generation beside the one in use, so
the documents keep coming while it runs; one read from the generation it just
replaced is read again from the new one (``web.live.views``).

A prefix neither side has a generation for (no consumer of this version ran yet)
is served as it is.
"""

from __future__ import annotations

import threading
from typing import Final

from sqlalchemy.engine import Engine

from insights.readmodel.generation import EXPECTED_SQL
from web.outage import Unavailable, translated

#: What a client is told to wait while the read model is rebuilt.
REBUILD_RETRY_S: Final = 10


class ReadModelCheck:
    """Checks the generation found with a document against PostgreSQL's."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self._engine, self._prefix = engine, prefix
        self._vouched: str | None = None
        self._known = False                 # PostgreSQL asked at least once
        self._lock = threading.Lock()

    def check(self, found: str | None, *, rebuilding: bool) -> None:
        """Return when ``found`` (Redis's generation, read after the document) is the one
        PostgreSQL vouches for (or neither has one yet); else ``Unavailable`` (part
        ``read model``). ``rebuilding``: a rebuild's lock is held (the detail says so)."""
        with self._lock:
            if self._known and found == self._vouched:
                return
            vouched = self._ask_postgres()
            self._vouched, self._known = vouched, True
        if found != vouched:
            raise Unavailable("read model", _detail(rebuilding), REBUILD_RETRY_S,
                              state="rebuilding")

    def _ask_postgres(self) -> str | None:
        with translated(), self._engine.connect() as conn:
            row = conn.exec_driver_sql(EXPECTED_SQL, (self._prefix,)).first()
        return None if row is None else str(row[0])


def _detail(rebuilding: bool) -> str:
    if rebuilding:
        return ("The read model is being rebuilt from PostgreSQL (Redis lost its data); "
                "the numbers come back when it is done.")
    return ("Redis does not hold the read model PostgreSQL vouches for (it lost its data); "
            "it comes back once a consumer rebuilds it, or 'insights backfill' is run.")
