"""The store's one ordered migration list: fresh and upgraded databases run the same steps in the
same order and end with the same schema; a database from a newer Sweep is refused clearly."""
from __future__ import annotations

import ast
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from store.db import DatabaseUnusable, open_db
from store.migrations import STEPS, migrations

ROOT = Path(__file__).resolve().parent.parent
NAMES = [step.name for step in STEPS]
# Made by the code before the list (commit 293d1f9): every step up to review_001 applied, so its
# reviewer account still lives in the listings database (iterdump of a small database).
OLD_LAYOUT = Path(__file__).parent / "fixtures" / "store" / "old_layout.sql"


def schema(db) -> list[tuple]:
    return db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def applied(db) -> list[str]:
    return [m.name for m in migrations.applied(db)]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("fresh") / "sweep.db")
    yield db
    db.close()


def test_a_fresh_database_runs_the_list_in_order(fresh):
    assert applied(fresh) == NAMES
    assert len(set(NAMES)) == len(NAMES)
    # The names databases already record, whatever their scheme, stay as they shipped.
    assert NAMES[:5] == ["m001_initial", "m002_run_tracking", "m003_states_and_audit", "m004_price_as_shown",
                         "m100_terms"]
    assert NAMES[-1] == "scale_004_removals_by_platform"


def test_a_database_made_by_the_old_code_upgrades_to_the_fresh_schema(tmp_path, fresh):
    path = tmp_path / "sweep.db"
    con = sqlite3.connect(path)
    con.executescript(OLD_LAYOUT.read_text(encoding="utf-8"))
    con.close()

    db = open_db(path)
    assert applied(db) == NAMES
    assert schema(db) == schema(fresh)
    assert not db["users"].exists()                       # the account moved to its own file
    accounts = sqlite_utils.Database(tmp_path / "sweep-accounts.db")
    assert [r[0] for r in accounts.execute("SELECT name FROM users")] == ["alice_demo"]
    assert db.execute("SELECT id, state FROM listings").fetchall() == [("marketplace:1", "flagged")]
    assert db.execute("SELECT actor, action FROM audit_log").fetchall() == [("classifier", "state:new->flagged")]
    # What the old code counted is counted by the step that came after it.
    assert db.execute("SELECT state, n FROM listing_counts").fetchall() == [("flagged", 1)]


@pytest.mark.parametrize("stop_before", NAMES[1:])
def test_a_database_stopped_before_any_step_upgrades_in_list_order(tmp_path, fresh, stop_before):
    path = tmp_path / "sweep.db"
    old = open_db(path, migrate=False)
    migrations.apply(old, stop_before=stop_before)
    assert applied(old) == NAMES[:NAMES.index(stop_before)]
    old.close()

    db = open_db(path)
    assert applied(db) == NAMES
    assert schema(db) == schema(fresh)


@pytest.mark.parametrize("module", sorted(p.stem for p in (ROOT / "store" / "migrations").glob("[!_]*.py")))
def test_importing_a_step_module_first_changes_nothing(tmp_path, module):
    """The old registry ordered steps by import: importing schema_takedown first put the takedown
    steps last, and a fresh database then failed (endpoints reference reports)."""
    code = (f"import store.migrations.{module}\n"
            "from store.db import open_db, migrations\n"
            f"db = open_db({str(tmp_path / 'sweep.db')!r})\n"
            "print(' '.join(m.name for m in migrations.applied(db)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == NAMES


def test_a_step_from_a_newer_sweep_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "sweep.db"
    open_db(path).close()
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                    "VALUES ('sweep', 'scale_999_from_the_future', '2027-01-01 00:00:00+00:00')")
        con.execute("DROP INDEX idx_audit_log_action_listing_id")       # as if a pending step still had to run
    con.execute("DELETE FROM _sqlite_migrations WHERE name = 'scale_003_audit_action'")
    con.commit()
    con.close()

    with pytest.raises(DatabaseUnusable) as raised:
        open_db(path)
    message = str(raised.value)
    assert "scale_999_from_the_future" in message and "newer Sweep" in message and str(path) in message
    check = sqlite_utils.Database(path)
    assert "scale_003_audit_action" not in applied(check)                # the pending step did not run
    assert "idx_audit_log_action_listing_id" not in {i.name for i in check["audit_log"].indexes}
    check.close()

    from cli.main import cli

    result = CliRunner().invoke(cli, ["stats", "--db", str(path)])
    assert result.exit_code != 0 and "newer Sweep" in result.output and "Traceback" not in result.output


def test_steps_import_nothing_that_imports_them():
    """store.db imports the list; no step module imports store.db or the list (the old cycle)."""
    for path in (ROOT / "store" / "migrations").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert "store.db" not in imported, path.name
        if path.name != "__init__.py":
            assert "store.migrations" not in imported and "store" not in imported, path.name
