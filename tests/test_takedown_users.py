"""Reviewer accounts: argon2 hashes, roles, disabling, and the `sweep users` commands."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from takedown.cli import cli
from takedown.cli_review import DEMO_USER, demo_account
from takedown.db import open_db
from takedown.users import UserError, Users

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery"


@pytest.fixture
def users(tmp_path):
    return Users(open_db(tmp_path / "u.db"))


def test_passwords_are_stored_only_as_argon2id_hashes(users):
    users.add("alice", "reviewer", PASSWORD)
    stored = users.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert users.authenticate("alice", PASSWORD)["role"] == "reviewer"
    assert users.authenticate("alice", PASSWORD + "x") is None
    assert users.authenticate("mallory", PASSWORD) is None
    (actor, action, detail), = users.db.execute("SELECT actor, action, detail FROM audit_log").fetchall()
    assert (actor, action) == ("cli", "user:add") and PASSWORD not in detail


@pytest.mark.parametrize("name, role, password, message", [
    ("alice", "owner", PASSWORD, "unknown role"),
    ("al ice", "reviewer", PASSWORD, "invalid user name"),
    ("<b>x</b>", "reviewer", PASSWORD, "invalid user name"),
    ("alice", "reviewer", "short", "too short"),
])
def test_bad_accounts_are_refused(users, name, role, password, message):
    with pytest.raises(UserError, match=message):
        users.add(name, role, password)
    assert users.list() == []


def test_a_name_is_taken_once(users):
    users.add("alice", "reviewer", PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        users.add("alice", "admin", PASSWORD)
    assert users.get("alice")["role"] == "reviewer"


def test_disabling_or_a_new_password_ends_open_sessions(users):
    users.add("alice", "reviewer", PASSWORD)
    old_session = "2026-01-01T00:00:00+00:00"
    assert users.session_valid("alice", old_session)
    users.set_disabled("alice", True)
    assert users.authenticate("alice", PASSWORD) is None
    assert users.session_valid("alice", "9999-01-01T00:00:00+00:00") is None
    users.set_disabled("alice", False)
    assert users.session_valid("alice", old_session) is None
    users.set_password("alice", "another good password")
    assert users.authenticate("alice", PASSWORD) is None
    assert users.authenticate("alice", "another good password")
    assert users.session_valid("alice", "9999-01-01T00:00:00+00:00")
    with pytest.raises(UserError, match="no user"):
        users.set_password("bob", "another good password")


def test_signing_out_ends_every_session_opened_before(users):
    users.add("alice", "reviewer", PASSWORD)
    from takedown.users import session_start

    before = session_start()
    users.end_sessions("alice")
    assert users.session_valid("alice", before) is None
    assert users.session_valid("alice", session_start())
    assert users.session_valid("alice", "not a time") is None


def test_hashes_made_with_other_parameters_are_upgraded_at_login(users):
    from argon2 import PasswordHasher

    users.add("alice", "reviewer", PASSWORD)
    with users.db.conn:
        users.db.execute("UPDATE users SET password_hash = ?", [PasswordHasher(time_cost=1, memory_cost=8192,
                                                                                parallelism=1).hash(PASSWORD)])
    assert users.authenticate("alice", PASSWORD)
    stored = users.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert "m=19456,t=2,p=1" in stored
    assert users.authenticate("alice", PASSWORD)


def test_users_add_reads_the_password_from_the_named_variable(tmp_path):
    db = str(tmp_path / "u.db")
    result = CliRunner().invoke(cli, ["users", "add", "alice", "--role", "admin", "--password-env", "PW", "--db", db],
                                env={"PW": PASSWORD})
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert Users(open_db(db)).authenticate("alice", PASSWORD)["role"] == "admin"
    listed = CliRunner().invoke(cli, ["users", "list", "--db", db])
    assert "alice" in listed.output and "admin" in listed.output and "argon2" not in listed.output


def test_a_non_interactive_run_without_a_password_is_an_error(tmp_path):
    db = str(tmp_path / "u.db")
    result = CliRunner().invoke(cli, ["users", "add", "alice", "--role", "reviewer", "--db", db], input="")
    assert result.exit_code != 0 and "--password-env" in result.output
    unset = CliRunner().invoke(cli, ["users", "add", "alice", "--role", "reviewer", "--password-env",
                                     "SWEEP_TEST_UNSET_VARIABLE", "--db", db])
    assert unset.exit_code != 0 and "not set" in unset.output
    assert Users(open_db(db)).list() == []


def test_an_interactive_run_prompts_without_echo(tmp_path):
    db = str(tmp_path / "u.db")
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "takedown.cli", "users", "add", "carol", "--role", "reviewer",
                             "--db", db], stdin=secondary, stdout=secondary, stderr=secondary, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    os.close(secondary)
    seen = b""

    def read_until(marker: bytes, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            if select.select([primary], [], [], 0.5)[0]:
                try:
                    seen += os.read(primary, 1024)
                except OSError:
                    break
        assert marker in seen, seen

    read_until(b"Password:")
    os.write(primary, (PASSWORD + "\n").encode())
    read_until(b"Repeat for confirmation:")
    os.write(primary, (PASSWORD + "\n").encode())
    read_until(b"created")
    assert proc.wait(30) == 0
    os.close(primary)
    assert PASSWORD.encode() not in seen
    assert Users(open_db(db)).authenticate("carol", PASSWORD)


def test_the_demo_account_gets_a_fresh_password_each_time(tmp_path):
    db = tmp_path / "demo.db"
    first = demo_account(db)
    second = demo_account(db)
    users = Users(open_db(db))
    assert first != second and len(second) >= 16
    assert users.authenticate(DEMO_USER, first) is None
    assert users.authenticate(DEMO_USER, second)["role"] == "reviewer"
