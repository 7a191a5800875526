"""The durable record's upkeep: the event tables' monthly partitions and retention.

``partitions`` creates a month's partitions before the consumer writes into it and
lists what exists; ``kept`` says which rows a profile still shows however old they
are (the newest few per user and kind); ``retention`` drops the months older than
``INSIGHTS_RETENTION_MONTHS``, keeping those rows, and trims the ledger.
"""
