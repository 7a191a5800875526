"""Every Redis key name of the project, in one place.

Keys carry hash tags and scripts declare the keys they touch, all of one tag,
so the layout is ready for Redis Cluster (not yet run on one).

- ``{u:N}``: users' day counters, one hash per user (``d:ID``), absolute values
  recounted from PostgreSQL, so rewriting them is idempotent. A user's group N is
  its id modulo ``COUNTER_GROUPS``: a batch stores and reads the users of one
  group in one script call, and a cluster spreads the groups over its nodes.
- ``{e:N}``: security alerts per day, one hash per e-mail address (alerts belong
  to users by e-mail, semantics 7), grouped by a CRC32 of the address.
- ``{g}``: site-wide day aggregates (pages, sections, sessions, heatmap, devices,
  cards), the session snapshots behind the paths tab, and the per-partition
  watermarks that make their increments exactly once.
- ``{r}``: rankings and user indexes (sorted sets), with the stamp of the
  newest rescore per user so a slower writer never overwrites a newer score.
- ``{o}``: this sink's Kafka offsets (where a restarted consumer resumes), how
  fresh the read model is (newest applied event, consumer lag), and which
  generation of it the keys are (``insights.readmodel.generation``).
- ``{l}``: the web app's failed log-in counters (throttling).

The read model's keys (``{u:N}``, ``{e:N}``, ``{g}``, ``{r}`` and the offsets and
freshness in ``{o}``) live under a *generation*: ``PREFIX:GEN:{tag}:...``.
``Keys.generation`` names the one readers and consumers use; a backfill builds
another beside it (``Keys.building``) and switches the name over when that one
is complete (``consumers.backfill``). What is not the read model (the
generation names, the layout, the rebuild lock, the lag, the audit, the log-in
counters, the channels) lives under the prefix itself.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from typing import Final

from scoring.engagement import STATUSES
from scoring.windows import PERIODS, WINDOW_STARTS

LAYOUT: Final = 4
"""Version of the key names and formats; bumped when they change (a read model of
another version is rebuilt with ``insights backfill``). 1: per-user hash tags;
2: hash-tag groups; 3: the read model under a generation; 4: the engagement list's
users also ranked per status."""
COUNTER_GROUPS: Final = 64
"""Hash-tag groups of the user and e-mail counter hashes. Part of every such key's
name: changing it means rebuilding them (``insights backfill``)."""

SCRATCH_TTL_S: Final = 30
"""Seconds a reader's scratch key (``Keys.scratch``) lives at most, should it not delete it."""
WINDOW_SPANS: Final = WINDOW_STARTS
"""Days before today where each period's window starts, in ``PERIODS`` order
(``scoring.windows.WINDOW_STARTS``; ``window.lua`` gets them generated)."""
WINDOWED_KINDS: Final = frozenset({
    "pv", "ld", "ldn",                                 # views and load times per path
    "tm", "tmn", "sc", "scn", "stm", "stn",            # page and section times, scroll
    "entry", "exit", "tr", "pvs", "len",               # the paths tab
})
"""Day sorted sets also kept summed per period window (``Keys.window``)."""


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix (``Settings.redis_prefix``; tests use a fresh one each)
    and, for the read model's keys, one generation of it (``at``)."""

    prefix: str
    generation_id: str = ""

    def at(self, generation_id: str) -> Keys:
        """The keys of the read model's generation ``generation_id`` under this prefix."""
        return Keys(self.prefix, generation_id)

    @property
    def base(self) -> str:
        """Where the read model's keys of this generation start (``PREFIX:GEN``)."""
        if not self.generation_id:
            raise LookupError(f"the read model's keys under {self.prefix!r} need its "
                              "generation (Keys.at)")
        return f"{self.prefix}:{self.generation_id}"

    # -- per user / per e-mail -------------------------------------------------------
    def user(self, user_id: int) -> str:
        """Hash day -> "stamp count..." for one user (``counters.lua``; metrics in
        ``insights.readmodel.userstate.USER_METRICS``), in group ``user_group(user_id)``."""
        return f"{self.base}:{{u:{user_group(user_id)}}}:d:{user_id}"

    def email(self, email: str) -> str:
        """Hash day -> "stamp alerts" for this exact e-mail (as ``user``)."""
        return f"{self.base}:{{e:{email_group(email)}}}:d:{email}"

    # -- rankings and indexes ---------------------------------------------------------
    def problems(self, period: str) -> str:
        """Sorted set user -> problem score over ``period`` (active users, score > 0)."""
        return f"{self.base}:{{r}}:problems:{period}"

    @property
    def engagement(self) -> str:
        """Sorted set user -> engagement score (listed users, score > 0)."""
        return f"{self.base}:{{r}}:engagement"

    @property
    def logins(self) -> str:
        """Sorted set active user -> day number of the last login (-1: never)."""
        return f"{self.base}:{{r}}:logins"

    @property
    def created(self) -> str:
        """Sorted set active user -> day number of ``created_at``."""
        return f"{self.base}:{{r}}:created"

    @property
    def locks(self) -> str:
        """Sorted set active locked user -> ``locked_until`` (epoch seconds)."""
        return f"{self.base}:{{r}}:locks"

    def engagement_status(self, status: str) -> str:
        """Sorted set user -> engagement score of the engagement list's users whose
        status (``scoring.engagement.status``) is ``status``."""
        return f"{self.base}:{{r}}:engagement:{status}"

    def ranked_sets(self) -> list[str]:
        """The sorted sets ``rank.lua`` stores a user's values in, in the order of
        ``consumers.ranking.rank_values``: problems per period (``PERIODS`` order),
        engagement, logins, created, locks, engagement per status (``STATUSES`` order)."""
        return [*(self.problems(p) for p in PERIODS), self.engagement, self.logins,
                self.created, self.locks, *(self.engagement_status(s) for s in STATUSES)]

    @property
    def stamps(self) -> str:
        """Hash user -> time (µs) of the state the stored scores were computed from."""
        return f"{self.base}:{{r}}:stamps"

    @property
    def rolled(self) -> str:
        """The day number rankings were last re-scored for (windows roll at midnight)."""
        return f"{self.base}:{{r}}:rolled"

    def roll_lock(self, day: int) -> str:
        """Held by the one consumer re-scoring everybody after the midnight before ``day``."""
        return f"{self.base}:{{r}}:roll-lock:{day}"

    # -- site-wide day aggregates -----------------------------------------------------
    def day(self, day: int) -> str:
        """Hash of the day's scalar counters (sessions, views, cards, heatmap hours...)."""
        return f"{self.base}:{{g}}:d:{day}"

    def day_set(self, name: str, day: int) -> str:
        """Sorted set ``name`` of one day (``pv``: views per path, ``entry``...)."""
        return f"{self.base}:{{g}}:{name}:{day}"

    def day_hll(self, name: str, day: int) -> str:
        """HyperLogLog of the users behind ``name`` on one day (``users``, ``p:/path``...)."""
        return f"{self.base}:{{g}}:h:{day}:{name}"

    def window(self, kind: str, period: str) -> str:
        """Sorted set ``kind`` summed over a period's window as of ``asof``."""
        return f"{self.base}:{{g}}:w:{period}:{kind}"

    def window_hll(self, name: str, period: str) -> str:
        """HyperLogLog ``name`` over a period's window: the union of its day HLLs, merged
        again at midnight (a union cannot lose a day) and added to as events come."""
        return f"{self.base}:{{g}}:wh:{period}:{name}"

    @property
    def hll_names(self) -> str:
        """Set of the HyperLogLog names that have day HLLs (``users``, ``p:PATH``...)."""
        return f"{self.base}:{{g}}:hll-names"

    @property
    def hll_asof(self) -> str:
        """The day number the window HLLs were last merged for (behind ``asof`` for the
        moments after midnight; readers then count the day HLLs themselves)."""
        return f"{self.base}:{{g}}:hll-asof"

    @property
    def asof(self) -> str:
        """The day number the window sets are as of (moved by the midnight roll)."""
        return f"{self.base}:{{g}}:asof"

    def roll(self, asof: int, today: int) -> list[str]:
        """KEYS of ``roll.lua`` moving the windows from ``asof`` to ``today``."""
        keys = [self.asof]
        for kind in sorted(WINDOWED_KINDS):
            for period, span in WINDOW_SPANS.items():
                for day in range(asof - span, today - span):
                    keys += [self.window(kind, period), self.day_set(kind, day)]
        return keys

    def scratch(self) -> str:
        """A reader's short-lived key for server-side sums (in the ``{g}`` slot): the only
        kind of key the web app writes, always with ``SCRATCH_TTL_S``."""
        return f"{self.base}:{{g}}:scratch:{uuid.uuid4().hex}"

    def session(self, session_id: str) -> str:
        """What a session contributed so far to the paths aggregates (its snapshot)."""
        return f"{self.base}:{{g}}:s:{session_id}"

    def lone_view(self, pageview_id: str) -> str:
        """The snapshot of a page view without a session (its time and scroll only)."""
        return f"{self.base}:{{g}}:v:{pageview_id}"

    @property
    def watermarks(self) -> str:
        """Hash ``topic:partition`` -> last offset applied to the ``{g}`` aggregates."""
        return f"{self.base}:{{g}}:wm"

    @property
    def taken(self) -> str:
        """Hash ``topic:partition`` -> the offset up to which a backfill replays this
        generation, the consumers applying what comes after (set once, by whoever takes
        the partition over first: ``take_over``)."""
        return f"{self.base}:{{g}}:taken"

    @property
    def replayed(self) -> str:
        """Hash ``topic:partition`` -> last offset a backfill replayed into this generation's
        ``{g}`` aggregates: the rebuild's own watermarks, apart from ``watermarks``, which
        start at the offset the consumers took the generation over from
        (``consumers.backfill``)."""
        return f"{self.base}:{{g}}:replayed"

    @property
    def changes(self) -> str:
        """Pub/sub channel announcing each applied batch (the web app listens)."""
        return f"{self.prefix}:changes"

    @property
    def sessions_ended(self) -> str:
        """Pub/sub channel naming log-in sessions that ended (their WebSockets close)."""
        return f"{self.prefix}:sessions-ended"

    def login_failures(self, kind: str, subject: str) -> str:
        """Failed log-ins in the current window for one ``kind`` (``email``, ``ip``) of
        subject (a digest, so no address appears in key names)."""
        return f"{self.prefix}:{{l}}:fail:{kind}:{subject}"

    # -- offsets and freshness ----------------------------------------------------------
    @property
    def layout(self) -> str:
        """The ``LAYOUT`` version the keys under this prefix were written in."""
        return f"{self.prefix}:{{o}}:layout"

    @property
    def generation(self) -> str:
        """The read model's generation in use: set when a rebuild (or a fresh start)
        completes, to the value PostgreSQL records for this prefix
        (``insights.readmodel.generation``). Missing or different: the keys are not the read
        model PostgreSQL vouches for. Its keys are ``at(generation)``'s."""
        return f"{self.prefix}:{{o}}:generation"

    @property
    def building(self) -> str:
        """The generation a backfill is building beside the one in use: the consumers
        write it too, past the offsets it took over from them (``consumers.backfill``)."""
        return f"{self.prefix}:{{o}}:building"

    @property
    def rebuild_lock(self) -> str:
        """Held (a token, with a short expiry kept alive) by the one process rebuilding the
        read model."""
        return f"{self.prefix}:{{o}}:rebuild"

    @property
    def offsets(self) -> str:
        """Hash ``topic:partition`` -> next offset to read, written after each batch."""
        return f"{self.base}:{{o}}:offsets"

    @property
    def freshness(self) -> str:
        """Hash: ``newest`` (µs since the epoch of the newest applied event's ``ts``),
        ``applied`` (µs, when the last batch was applied) and ``batches`` (how many were
        applied: raised after each one's keys, whatever the clocks say)."""
        return f"{self.base}:{{o}}:freshness"

    @property
    def audit(self) -> str:
        """Hash of the last ``insights audit``: ``at`` (seconds since the epoch),
        ``differences`` and ``checked`` (documents compared), for the web app's metrics."""
        return f"{self.prefix}:{{o}}:audit"

    @property
    def older_offsets(self) -> str:
        """Where layouts 1 and 2 kept the offsets (a read model from before generations)."""
        return f"{self.prefix}:{{o}}:offsets"

    @property
    def lag(self) -> str:
        """Hash ``topic:partition`` -> "LAG STAMP_S": each consumer's lag behind the
        partitions it owns, with when it was measured (stale entries are ignored)."""
        return f"{self.prefix}:{{o}}:lag"


def user_group(user_id: int) -> int:
    """The hash-tag group of a user's counters (``Keys.user``)."""
    return user_id % COUNTER_GROUPS


def email_group(email: str) -> int:
    """The hash-tag group of an e-mail's counters (``Keys.email``)."""
    return zlib.crc32(email.encode()) % COUNTER_GROUPS
