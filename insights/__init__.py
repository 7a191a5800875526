"""insights: live user insights for web platforms.

The shared layer every job builds on, in layers (each imports only those below;
``pyproject.toml``'s import contracts and ``make lint`` hold them):

- ``cli``: the entry points (the ``insights`` command, the demo); the only code
  that imports both jobs, ``consumers`` (Kafka -> sinks) and ``web`` (API and
  dashboard), beside ``simulator`` (seeded site traffic);
- ``endpoints``: where the servers are (configured URLs, or the embedded stack);
- ``events`` (the event contract, the Kafka wrapper, the producer),
  ``readmodel`` (the Redis read model's keys, scripts and user state) and
  ``stack`` (the embedded Kafka-API broker, PostgreSQL and Valkey);
- ``settings``, ``database`` (PostgreSQL connections, migrations) and ``logs``;
- ``scoring`` (a package beside this one): the reference's formulas, pure.
"""
