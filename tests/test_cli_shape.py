"""The CLI is a thin roof: options declared once, commands as plain module-level functions added by
cli/main.py (never importing it back), and no SQL of its own."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from tests.helpers import cli_commands

CLI_DIR = Path(__file__).resolve().parent.parent / "cli"


COMMANDS = cli_commands()


def _helps(dest: str) -> dict[str, set[str]]:
    """The help texts the option stored as ``dest`` has, each with the commands that use it."""
    out: dict[str, set[str]] = {}
    for name, command in COMMANDS:
        for param in command.params:
            if isinstance(param, click.Option) and param.name == dest:
                out.setdefault(param.help or "", set()).add(name)
    return out


def test_shared_options_read_the_same_in_every_command():
    for dest in ("config_path", "clock", "model_path", "platforms", "profiles_dir", "base_urls", "keywords",
                 "redis_option", "verbose"):
        helps = _helps(dest)
        assert len(helps) == 1, f"{dest} has {len(helps)} help texts: {helps}"
    # --db has two forms: created if missing, or must exist (read-only commands refuse a mistyped path).
    assert set(_helps("db_path")) == {"SQLite database file.", "SQLite database file (must exist)."}
    assert len(_helps("db_path")["SQLite database file."]) >= 10


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_command_modules_never_import_the_group_and_define_plain_commands():
    for path in CLI_DIR.glob("*.py"):
        if path.name in ("main.py", "__main__.py", "reference.py"):
            continue
        assert "cli.main" not in _imports(path), f"{path.name} imports cli.main (imports point down)"
        assert "def register(" not in path.read_text(encoding="utf-8"), path.name


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\s+.*\b(FROM|INTO|SET)\b|\.query\(|\.execute\(|\bdb\[", re.S)


def test_no_sql_in_the_cli():
    for path in CLI_DIR.glob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not SQL.search(line), f"{path.name}:{number}: SQL belongs in a library module: {line.strip()}"


def test_run_and_crawl_say_how_they_differ():
    helps = dict(COMMANDS)
    assert "`sweep crawl` is the crawl alone" in " ".join(helps["run"].help.split())
    assert "`sweep run` (one whole cycle)" in " ".join(helps["crawl"].help.split())
