"""``python -m insights`` is the ``insights`` command."""

from insights.cli import main

main()
