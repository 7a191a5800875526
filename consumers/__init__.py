"""Consumers: Kafka records -> validated batches -> sinks (PostgreSQL), exactly once.

``pipeline`` runs the loop, ``writer`` is its writer process, ``sink`` the
sink protocol and retry, ``batch`` gathers and decodes records, ``rows``
maps events to rows and state changes (pure), ``copy`` encodes them for
PostgreSQL's COPY, ``postgres`` is the write-through sink, ``metrics`` the
Prometheus counters.
"""
