"""``python -m insights`` is the ``insights`` command."""

from insights.cli.app import main

main()
