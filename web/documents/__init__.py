"""The API's documents as declared types (msgspec Structs), one per tab, the profile, the
health answer and the envelope fields they share.

The same types encode the answers (``web.formats.encode``) and publish the OpenAPI
schema (``web.documents.schema``): a field's name, type and description are written
once, here. Field order is the JSON's key order; the JSON is the contract of
``docs/api.md``.
"""
