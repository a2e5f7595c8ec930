"""``python -m huitong`` runs the command-line interface."""

from huitong.cli import main

main()
