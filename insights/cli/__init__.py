"""The entry points: the ``insights`` command (``app``) and its groups (``stack``, ``web``:
serve, user, token; ``simulate``, ``demo``).

This package is the only code that wires the jobs together: it alone may import
both ``consumers`` and ``web`` (the import contracts in ``pyproject.toml``).
"""
