"""Alerts: rules on users' scores and statuses, detected in the pipeline, delivered to hooks.

``rules`` holds the rules and what one reading does to a rule's state (pure);
``detection`` records the states and the alerts they fire in one PostgreSQL
transaction, from the consumer's re-scores (``consumers.scores``); ``store``
reads and changes rules, hooks and recent alerts. Delivery goes through an
outbox (``outbox``: notifications grouped per rule, one delivery per hook,
retries) sent by ``dispatcher`` (``insights alerts dispatch``) to addresses
checked by ``destination``, signed by ``signing`` (Standard Webhooks), in the
formats of ``payloads``; hook secrets are sealed by ``sealing``.
"""
