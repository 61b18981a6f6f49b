"""docs/cli.md is the `--help` of every command as it is now (regenerate: python -m cli.reference > docs/cli.md)."""
from __future__ import annotations

from pathlib import Path

from cli.reference import reference
from tests.helpers import cli_commands

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_the_cli_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == reference(), \
        "docs/cli.md is stale: run `python -m cli.reference > docs/cli.md`"


def test_the_reference_has_every_command_and_its_example():
    text = reference()
    for name, command in cli_commands():
        assert f"\n## sweep {name}\n" in text, name
        assert "Example:" in (command.help or ""), f"`sweep {name}` help has no Example:"
