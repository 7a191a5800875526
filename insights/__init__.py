"""insights: live user insights for web platforms.

This package holds what every job shares: settings, the event contract, the
Kafka wrapper, database access, the embedded stack and the ``insights`` CLI.
The jobs themselves live beside it: ``consumers`` (Kafka -> sinks),
``scoring`` (pure formulas) and ``web`` (API and dashboard).
"""
