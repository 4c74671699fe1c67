"""``python -m oneclick.cli``: the ``oneclick`` command (``oneclick up`` starts its children so)."""

from oneclick.cli.main import main

main()
