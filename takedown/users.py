"""Reviewer accounts: argon2id password hashes, roles, and the checks the web UI relies on.

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
from datetime import datetime, timezone

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .states import audit

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


class UserError(ValueError):
    pass


def _now(timespec: str = "seconds") -> str:
    return datetime.now(timezone.utc).isoformat(timespec=timespec)


def session_start() -> str:
    """When a session starts, precise enough to order it against ``end_sessions``."""
    return _now("microseconds")


class Users:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def get(self, name: str) -> dict | None:
        row = self.db.execute("SELECT name, role, disabled, created_at, sessions_valid_after FROM users "
                              "WHERE name = ?", [name]).fetchone()
        return dict(zip(("name", "role", "disabled", "created_at", "sessions_valid_after"), row)) if row else None

    def list(self) -> list[dict]:
        return list(self.db.query("SELECT name, role, disabled, created_at FROM users ORDER BY name"))

    def add(self, name: str, role: str, password: str, actor: str = "cli") -> dict:
        if not _NAME.match(name or ""):
            raise UserError(f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r} (choose from {', '.join(ROLES)})")
        _check_password(password)
        with self.db.atomic():
            if self.get(name):
                raise UserError(f"user {name!r} already exists (change the password with `sweep users passwd`)")
            self.db.execute("INSERT INTO users (name, role, password_hash, created_at, disabled) "
                            "VALUES (?, ?, ?, ?, 0)", [name, role, _hash(password), _now()])
            audit(self.db.conn, actor, "user:add", None, {"user": name, "role": role})
        return self.get(name)

    def set_password(self, name: str, password: str, actor: str = "cli") -> None:
        """New password; sessions opened with the old one stop working."""
        _check_password(password)
        with self.db.atomic():
            self._require(name)
            self.db.execute("UPDATE users SET password_hash = ?, sessions_valid_after = ? WHERE name = ?",
                            [_hash(password), session_start(), name])
            audit(self.db.conn, actor, "user:passwd", None, {"user": name})

    def set_disabled(self, name: str, disabled: bool, actor: str = "cli") -> None:
        with self.db.atomic():
            self._require(name)
            self.db.execute("UPDATE users SET disabled = ?, sessions_valid_after = ? WHERE name = ?",
                            [int(disabled), session_start(), name])
            audit(self.db.conn, actor, "user:disable" if disabled else "user:enable", None, {"user": name})

    def end_sessions(self, name: str) -> None:
        """Every session of this account opened until now stops working (signing out, everywhere:
        session cookies are signed, not stored, so this is how one is revoked)."""
        with self.db.atomic():
            self.db.execute("UPDATE users SET sessions_valid_after = ? WHERE name = ?", [session_start(), name])

    def authenticate(self, name: str, password: str) -> dict | None:
        """The user if name and password match an enabled account, else None."""
        row = self.db.execute("SELECT password_hash, disabled FROM users WHERE name = ?", [name]).fetchone()
        stored = row[0] if row else _dummy_hash()
        try:
            with _hashing:
                _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row[1]:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.db.atomic():
                self.db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [_hash(password), name])
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

    def _require(self, name: str) -> None:
        if not self.get(name):
            raise UserError(f"no user {name!r}")


def _check_password(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
