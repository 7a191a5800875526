"""Consumers: Kafka records -> validated batches -> the durable write, then the projection.

``pipeline`` runs the loop and stamps each batch with the one clock; ``stages``
names the two stages in their order and ``processes`` runs each in a writer
process of its own (``writer``), the projection one batch behind; ``protocol``
holds their protocols, the write's answer (``Committed``), the failures and the
retry; ``offsets`` reads where each stage stands; ``batch`` gathers and decodes
records. The durable write (PostgreSQL): ``durable`` is the transaction and
its guards, ``tables`` the event tables' rows and state changes, ``rows`` maps
events to rows (pure), ``copy`` encodes them for COPY. The projection (the
Redis read model, of what the write committed): ``guard`` checks the read
model's generation (rebuilt or refused when lost), ``projection`` applies a
batch, ``timed`` the work at midnight and lock expiry, ``aggregates`` the
site-wide increments (pure), ``snapshots`` and ``journeys`` the paths tab's
sessions, ``scores`` with ``rollups`` and ``ranking`` the users' counters and
rankings; ``backfill`` rebuilds it from PostgreSQL. ``metrics`` has the
Prometheus counters, ``lag`` the lag the web app's badge reads.
"""
