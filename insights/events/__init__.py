"""The event contract and its transport: what producers send and how it travels.

``contract`` decodes and validates one message (docs/events.md) into typed
events, ``payload`` checks the whole message below the schema (UTF-8, nesting,
lengths, number and time ranges), ``undecodable`` turns record batches the Kafka
client cannot decode into dead letters, ``kafka`` is the one wrapper of the
Kafka client, and ``producer`` is the ``Emitter`` web applications use.
"""
