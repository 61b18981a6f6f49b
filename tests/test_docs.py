"""Every command is documented: an Example in its help, and a section in the README."""
from __future__ import annotations

from pathlib import Path

import click
import pytest

from cli.main import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


COMMANDS = sorted(_commands(cli), key=lambda c: c[0])


@pytest.mark.parametrize("name, command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_help_has_an_example(name, command):
    assert "Example:" in (command.help or ""), f"`sweep {name}` help has no Example:"


@pytest.mark.parametrize("name", [c[0] for c in COMMANDS])
def test_command_is_in_readme(name):
    assert f"sweep {name}" in README, f"`sweep {name}` is not documented in README.md"


def test_quick_start_is_two_commands():
    assert "make demo" in README and "make test" in README
