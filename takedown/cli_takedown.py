"""`sweep` commands of the takedown area; `register` adds them to the main group (see takedown/cli.py)."""
from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this area's commands to `cli`."""
