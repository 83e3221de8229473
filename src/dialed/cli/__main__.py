"""``python -m dialed.cli``: the same as the ``dialed`` command."""

from dialed.cli import main

main()
