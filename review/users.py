"""Reviewer accounts: argon2id password hashes, roles, and the checks the web UI relies on.

Accounts live in their own 0600 file beside the listings database (store/accounts.py);
what happens to them is written to the listings database's audit log.

Passwords are never stored, logged or echoed; only their argon2id hashes are. The cost is
OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane), not argon2-cffi's heavier default:
on a 2-core reviewer box that default takes most of a second per login, and a burst of
logins would take the server down. Hashes made with other parameters are upgraded at the
next successful login.
"""
from __future__ import annotations

import functools
import re
import threading
from datetime import UTC, datetime, timedelta

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from common.clock import SYSTEM
from store.accounts import AccountsFileError, accounts_path, database_file, open_accounts
from store.states import audit
from common.errors import SweepError

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# At most two hashes at once: bounded CPU and memory however many logins arrive together.
_hashing = threading.BoundedSemaphore(2)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash("not a real password, only a timing decoy")


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


class UserError(SweepError, ValueError):
    pass


def _now(timespec: str = "seconds") -> str:
    return SYSTEM.now().isoformat(timespec=timespec)


def session_start() -> str:
    """When a session starts, precise enough to order it against ``end_sessions``."""
    return _now("microseconds")


class Users:
    """Accounts of the listings database ``db`` (whose audit log records what happens to them),
    kept in ``accounts`` — the accounts file beside ``db`` unless given."""

    def __init__(self, db: sqlite_utils.Database, accounts: sqlite_utils.Database | None = None):
        self.db = db
        if accounts is None:
            if not database_file(db):
                raise AccountsFileError("an in-memory database has no accounts file beside it; pass one")
            accounts = open_accounts(accounts_path(database_file(db)))
        self.accounts = accounts

    def get(self, name: str) -> dict | None:
        row = self.accounts.execute("SELECT name, role, disabled, created_at, sessions_valid_after FROM users "
                                    "WHERE name = ?", [name]).fetchone()
        return dict(zip(("name", "role", "disabled", "created_at", "sessions_valid_after"), row)) if row else None

    def list(self) -> list[dict]:
        return list(self.accounts.query("SELECT name, role, disabled, created_at FROM users ORDER BY name"))

    def _audit(self, actor: str, action: str, detail: dict) -> None:
        # Another file than the account change: written after it commits, so the log never
        # records a change that did not happen.
        with self.db.atomic():
            audit(self.db.conn, actor, action, None, detail)

    def add(self, name: str, role: str, password: str, actor: str = "cli") -> dict:
        if not _NAME.match(name or ""):
            raise UserError(f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r} (choose from {', '.join(ROLES)})")
        _check_password(password)
        hashed = _hash(password)
        with self.accounts.atomic():
            if self.get(name):
                raise UserError(f"user {name!r} already exists (change the password with `sweep users passwd`)")
            self.accounts.execute("INSERT INTO users (name, role, password_hash, created_at, disabled) "
                                  "VALUES (?, ?, ?, ?, 0)", [name, role, hashed, _now()])
        self._audit(actor, "user:add", {"user": name, "role": role})
        return self.get(name)

    def set_password(self, name: str, password: str, actor: str = "cli") -> None:
        """New password; sessions opened with the old one stop working."""
        _check_password(password)
        hashed = _hash(password)
        with self.accounts.atomic():
            self._require(name)
            self.accounts.execute("UPDATE users SET password_hash = ?, sessions_valid_after = ? WHERE name = ?",
                                  [hashed, session_start(), name])
        self._audit(actor, "user:passwd", {"user": name})

    def set_disabled(self, name: str, disabled: bool, actor: str = "cli") -> None:
        with self.accounts.atomic():
            self._require(name)
            self.accounts.execute("UPDATE users SET disabled = ?, sessions_valid_after = ? WHERE name = ?",
                                  [int(disabled), session_start(), name])
        self._audit(actor, "user:disable" if disabled else "user:enable", {"user": name})

    def end_sessions(self, name: str) -> None:
        """Every session of this account opened until now stops working (signing out, everywhere:
        session cookies are signed, not stored, so this is how one is revoked)."""
        with self.accounts.atomic():
            self.accounts.execute("UPDATE users SET sessions_valid_after = ? WHERE name = ?", [session_start(), name])

    def authenticate(self, name: str, password: str) -> dict | None:
        """The user if name and password match an enabled account, else None."""
        row = self.accounts.execute("SELECT password_hash, disabled FROM users WHERE name = ?", [name]).fetchone()
        stored = row[0] if row else _dummy_hash()
        try:
            with _hashing:
                _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row[1]:
            return None
        if _hasher.check_needs_rehash(stored):
            hashed = _hash(password)
            with self.accounts.atomic():
                self.accounts.execute("UPDATE users SET password_hash = ? WHERE name = ?", [hashed, name])
        return self.get(name)

    def session_valid(self, name: str, started_at: str) -> dict | None:
        """The user behind a session started at ``started_at``, if the session may still be used."""
        user = self.get(name)
        if not user or user["disabled"]:
            return None
        if user["sessions_valid_after"]:
            try:
                if datetime.fromisoformat(started_at) < datetime.fromisoformat(user["sessions_valid_after"]):
                    return None
            except (TypeError, ValueError):     # a session without a readable start is not trusted
                return None
        return user

    # -- the per-account login throttle (policy in review/web/throttle.py) --------------------
    def locked_until(self, name: str, now: datetime) -> datetime | None:
        """When the account's lock ends, if it is locked at ``now``."""
        row = self.accounts.execute("SELECT locked_until FROM users WHERE name = ?", [name]).fetchone()
        until = _time(row[0]) if row else None
        return until if until and until > now else None

    def login_failed(self, name: str, now: datetime, window: timedelta, attempts: int) -> dict | None:
        """Count a failed or refused sign-in against account ``name``; None if there is no such
        account (names that are not accounts get no state).

        Failures are counted in fixed windows; the ``attempts``-th of a window locks the account
        for ``window``. Returns ``count`` (this window's so far), ``first`` (the window's first),
        ``locked_until`` (set when this failure locked it), ``covered`` (how many failures the
        row the caller writes now stands for, 0 for none) and ``closed`` — ``(count, since)`` of
        an earlier window's failures no audit row has covered yet, else None.
        """
        conn = self.accounts.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT failed_logins, failed_since, failed_audited, locked_until FROM users "
                               "WHERE name = ?", [name]).fetchone()
            if row is None:
                conn.rollback()
                return None
            count, since, audited, locked = row[0] or 0, _time(row[1]), row[2] or 0, _time(row[3])
            closed = None
            if since is None or now >= since + window:
                if count > audited:
                    closed = (count - audited, since)
                count, since, audited = 0, now, 0
            count += 1
            newly_locked = None
            if count >= attempts and not (locked and locked > now):
                locked = newly_locked = now + window
            covered = 0
            if count == 1 or newly_locked:      # the caller writes a row for these
                covered, audited = count - audited, count
            conn.execute("UPDATE users SET failed_logins = ?, failed_since = ?, failed_audited = ?, locked_until = ? "
                         "WHERE name = ?", [count, _iso(since), audited, _iso(locked), name])
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return {"count": count, "first": count == 1, "locked_until": newly_locked, "covered": covered,
                "closed": closed}

    def login_succeeded(self, name: str) -> tuple[int, datetime] | None:
        """Clear the account's failure count; ``(count, since)`` of failures no audit row covered yet."""
        with self.accounts.atomic():
            row = self.accounts.execute("SELECT failed_logins, failed_audited, failed_since FROM users WHERE name = ?",
                                        [name]).fetchone()
            self.accounts.execute("UPDATE users SET failed_logins = 0, failed_audited = 0, failed_since = NULL, "
                                  "locked_until = NULL WHERE name = ?", [name])
        if row and (row[0] or 0) > (row[1] or 0):
            return row[0] - row[1], _time(row[2])
        return None

    def closed_login_windows(self, now: datetime, window: timedelta) -> list[tuple[str, int, datetime]]:
        """``(name, count, since)`` of every window that has ended with failures no audit row covers;
        they count as covered from here on (the caller writes the rows)."""
        closed = []
        with self.accounts.atomic():
            for name, count, audited, since in self.accounts.execute(
                    "SELECT name, failed_logins, failed_audited, failed_since FROM users "
                    "WHERE failed_logins > failed_audited AND failed_since IS NOT NULL").fetchall():
                if _time(since) + window <= now:
                    closed.append((name, count - audited, _time(since)))
                    self.accounts.execute("UPDATE users SET failed_audited = failed_logins WHERE name = ?", [name])
        return closed

    def _require(self, name: str) -> None:
        if not self.get(name):
            raise UserError(f"no user {name!r}")


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds") if when else None


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _check_password(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
