"""Reviewer accounts: argon2 hashes, roles, disabling, and the `sweep users` commands."""
from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from cli.main import cli
from cli.review import DEMO_USER, demo_account
from store.db import open_db
from review.users import UserError, Users

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery"


@pytest.fixture
def users(tmp_path):
    return Users(open_db(tmp_path / "u.db"))


def test_passwords_are_stored_only_as_argon2id_hashes(users):
    users.add("alice", "reviewer", PASSWORD)
    stored = users.accounts.execute("SELECT password_hash FROM users").fetchone()[0]
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
    from review.users import session_start

    before = session_start()
    users.end_sessions("alice")
    assert users.session_valid("alice", before) is None
    assert users.session_valid("alice", session_start())
    assert users.session_valid("alice", "not a time") is None


def test_hashes_made_with_other_parameters_are_upgraded_at_login(users):
    from argon2 import PasswordHasher

    users.add("alice", "reviewer", PASSWORD)
    with users.accounts.conn:
        users.accounts.execute("UPDATE users SET password_hash = ?", [PasswordHasher(time_cost=1, memory_cost=8192,
                                                                                parallelism=1).hash(PASSWORD)])
    assert users.authenticate("alice", PASSWORD)
    stored = users.accounts.execute("SELECT password_hash FROM users").fetchone()[0]
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
    proc = subprocess.Popen([sys.executable, "-m", "cli", "users", "add", "carol", "--role", "reviewer",
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


# -- login throttling ---------------------------------------------------------------------------
def test_a_flood_of_sign_ins_neither_unlocks_an_account_nor_floods_the_audit_log(tmp_path):
    """What the login page does for each attempt, 10,005 times with names that are not accounts
    from as many addresses (their passwords are not checked here: an unknown name always fails)."""
    from datetime import UTC, datetime, timedelta

    from review.web.throttle import LoginGuard

    db = open_db(tmp_path / "sweep.db")
    users = Users(db)
    users.add("alice", "reviewer", PASSWORD)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    guard = LoginGuard(clock=lambda: now[0])

    def audit_rows() -> int:
        return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]

    for i in range(5):                                  # five wrong guesses lock alice
        assert guard.refused(users, "alice", "192.0.2.1") is None
        assert users.authenticate("alice", f"guess {i}") is None
        guard.failed(users, "alice", "192.0.2.1")
    assert guard.refused(users, "alice", "192.0.2.99") == "account"
    for _ in range(20):                                 # and twenty from one address lock that address
        guard.failed(users, "", "198.51.100.66")
    assert guard.refused(users, "bob", "198.51.100.66") == "address"
    before = audit_rows()
    for i in range(10_005):
        name, address = f"spray{i}", f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
        if guard.refused(users, name, address) is None:
            guard.failed(users, name, address)
    now[0] += timedelta(seconds=60)
    assert guard.refused(users, "alice", "192.0.2.1") == "account"          # still locked, right password or not
    assert guard.refused(users, "bob", "198.51.100.66") == "address"        # the refusing address was not evicted
    assert guard.addresses <= 10_000
    assert [u["name"] for u in users.list()] == ["alice"]                  # unknown names left no state
    assert audit_rows() == before
    now[0] += timedelta(seconds=300)                                        # the window closes: one row with the count
    guard.flush(users)
    rows = db.execute("SELECT actor, action, detail FROM audit_log ORDER BY id").fetchall()
    assert len(rows) == before + 1
    summary = json.loads(rows[-1][2])
    assert rows[-1][:2] == ("-", "login_failed") and summary["count"] == 19 + 10_005
    assert summary["top"]["198.51.100.66"] == 20 and summary["addresses"] == 1000 and summary["more_addresses"]
    logged = [(a, b, json.loads(c)["count"]) for a, b, c in rows if a == "alice" and b.startswith("login")]
    assert logged == [("alice", "login_failed", 1), ("alice", "login_locked", 4)]
    assert guard.refused(users, "alice", "192.0.2.1") is None                # the lock ends with its window
    assert users.authenticate("alice", PASSWORD)


def test_failures_on_a_locked_account_are_counted_in_one_row_when_the_window_closes(tmp_path):
    from datetime import UTC, datetime, timedelta

    from review.web.throttle import LoginGuard

    db = open_db(tmp_path / "sweep.db")
    users = Users(db)
    users.add("alice", "reviewer", PASSWORD)
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    guard = LoginGuard(clock=lambda: now[0])
    for i in range(500):                                # the attacker keeps going after the lock
        guard.failed(users, "alice", f"2001:db8::{i:x}")                     # one /64: one address
    assert guard.refused(users, "carol", "2001:db8::ffff") == "address"
    assert guard.refused(users, "carol", "2001:db8:0:1::1") is None
    now[0] += timedelta(seconds=301)
    guard.succeeded(users, "alice", "192.0.2.1")         # a later sign-in writes what was left
    counts = [(a, json.loads(d)["count"]) for a, d in db.execute(
        "SELECT action, detail FROM audit_log WHERE actor = 'alice' AND action LIKE 'login%' ORDER BY id")]
    assert counts == [("login_failed", 1), ("login_locked", 4), ("login_failed", 495)]
    assert users.locked_until("alice", now[0]) is None


# -- the accounts file ------------------------------------------------------------------------
def _modes(folder) -> dict:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_accounts_live_in_their_own_0600_file_and_the_database_is_not_world_readable(tmp_path):
    old = os.umask(0)                                   # even with no umask at all
    try:
        users = Users(open_db(tmp_path / "sweep.db"))
        users.add("alice", "reviewer", PASSWORD)
        users.end_sessions("alice")
    finally:
        os.umask(old)
    modes = _modes(tmp_path)
    assert {name: mode for name, mode in modes.items() if "accounts" in name} == {
        "sweep-accounts.db": 0o600, "sweep-accounts.db-wal": 0o600, "sweep-accounts.db-shm": 0o600}
    assert modes["sweep.db"] == 0o640 and modes["sweep.db-wal"] == 0o640
    main = open_db(tmp_path / "sweep.db")
    assert not main["users"].exists()
    for table in main.table_names():                    # what `datasette sweep.db` would show
        assert not any("password" in column for column in main[table].columns_dict), table
        for row in main[table].rows:
            assert not any(isinstance(v, str) and v.startswith("$argon2") for v in row.values()), table
    assert main.execute("SELECT action FROM audit_log").fetchall() == [("user:add",)]


def test_an_accounts_file_others_can_read_is_refused(tmp_path):
    db = str(tmp_path / "sweep.db")
    Users(open_db(db)).add("alice", "reviewer", PASSWORD)
    os.chmod(tmp_path / "sweep-accounts.db", 0o644)
    result = CliRunner().invoke(cli, ["users", "list", "--db", db])
    assert result.exit_code != 0 and "chmod 600" in result.output and "Traceback" not in result.output


def test_the_accounts_file_can_live_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_ACCOUNTS_DB", str(tmp_path / "private" / "reviewers.db"))
    (tmp_path / "private").mkdir()
    Users(open_db(tmp_path / "sweep.db")).add("alice", "reviewer", PASSWORD)
    assert _modes(tmp_path / "private")["reviewers.db"] == 0o600
    assert not (tmp_path / "sweep-accounts.db").exists()


def test_an_old_database_has_its_accounts_moved_out_on_open(tmp_path):
    from store.db import migrations
    from review.users import _hash

    path = tmp_path / "sweep.db"
    old = open_db(path, migrate=False)                  # the layout before accounts had a file of their own
    migrations.apply(old, stop_before="review_002_accounts_to_their_own_file")
    hashed = _hash(PASSWORD)
    with old.conn:
        old.execute("INSERT INTO users (name, role, password_hash, created_at, disabled, sessions_valid_after) "
                    "VALUES ('alice', 'admin', ?, '2026-01-01T00:00:00+00:00', 0, NULL)", [hashed])
        old.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES ('2026-01-01', 'alice', 'login', '{}')")
    old.close()

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("sweep.db"))

    assert hashed.encode() in raw()
    db = open_db(path)
    assert not db["users"].exists()
    assert db.execute("SELECT actor, action FROM audit_log").fetchall() == [("alice", "login")]   # stays here
    assert hashed.encode() not in raw() and b"$argon2id$" not in raw()     # moved, not copied: no stale pages
    users = Users(db)
    assert users.accounts.execute("SELECT password_hash FROM users").fetchall() == [(hashed,)]
    assert users.authenticate("alice", PASSWORD)["role"] == "admin"
    assert _modes(tmp_path)["sweep-accounts.db"] == 0o600
    open_db(path).close()                                # opening again moves nothing twice
    assert [u["name"] for u in Users(open_db(path)).list()] == ["alice"]


def test_a_full_address_table_keeps_its_refusals_and_shares_one_bucket_among_newcomers(tmp_path):
    from datetime import UTC, datetime, timedelta

    from review.web.throttle import LoginGuard

    users = Users(open_db(tmp_path / "sweep.db"))
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    guard = LoginGuard(address_attempts=3, max_addresses=4, clock=lambda: now[0])
    for n in range(4):                                   # the table fills with refused addresses
        for _ in range(3):
            guard.failed(users, "", f"192.0.2.{n}")
    assert all(guard.refused(users, "x", f"192.0.2.{n}") == "address" for n in range(4))
    assert guard.refused(users, "x", "198.51.100.1") is None
    for n in range(3):                                   # newcomers share the overflow bucket
        guard.failed(users, "", f"198.51.100.{n}")
    assert guard.refused(users, "x", "198.51.100.200") == "address"
    assert guard.addresses == 4 and all(guard.refused(users, "x", f"192.0.2.{n}") == "address" for n in range(4))
    now[0] += timedelta(seconds=301)                     # refusals end: room again
    guard.failed(users, "", "203.0.113.1")
    assert guard.refused(users, "x", "203.0.113.1") is None and guard.addresses == 4
