"""Consumers: Kafka records -> validated batches -> sinks (PostgreSQL, then Redis), exactly once.

``pipeline`` runs the loop; ``stages`` chains the sinks' writer processes and
``writer`` is one of them; ``sink`` holds the sink protocol and retry,
``batch`` gathers and decodes records. The PostgreSQL write-through: ``rows``
maps events to rows and state changes (pure), ``copy`` encodes them for COPY,
``postgres`` is the sink. The Redis read model: ``redis`` is the sink,
``aggregates`` the site-wide increments (pure), ``snapshots`` and ``journeys``
the paths tab's sessions, ``scores`` with ``rollups`` and ``ranking`` the users'
counters and rankings; ``backfill`` rebuilds it from PostgreSQL. ``metrics``
has the Prometheus counters.
"""
