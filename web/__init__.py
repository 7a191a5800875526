"""The read side: a FastAPI app serving the tabs, user profiles and CSV exports (docs/api.md)."""
