"""API keys of the check API: made once, shown once, kept only as SHA-256 in the accounts file.

A key is 32 random bytes (``swk_`` + URL-safe base64), so a fast hash is enough at rest: nobody
can guess one, and a slow password hash per request would cap throughput at a few calls per
second. Keys live in ``sweep-accounts.db`` (0600, store/accounts.py) beside the reviewer
accounts, never in ``sweep.db``. Each key has its own rate limit (requests per second, with a
burst of twice that) enforced in memory by :class:`RateLimiter`.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time

import sqlite_utils

from common.clock import SYSTEM
from store.accounts import migrations as accounts_migrations
from common.errors import SweepError

PREFIX = "swk_"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ApiKeyError(SweepError, ValueError):
    """A key name or option that cannot be used; the message says why."""


@accounts_migrations()
def accounts_002_api_keys(db: sqlite_utils.Database) -> None:
    db["api_keys"].create({"name": str, "key_sha256": str, "rate_per_second": float, "created_at": str,
                           "revoked_at": str}, pk="name", not_null={"key_sha256"})
    db["api_keys"].create_index(["key_sha256"], unique=True)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _now() -> str:
    return SYSTEM.now().isoformat(timespec="seconds")


def add_key(accounts: sqlite_utils.Database, name: str, rate_per_second: float = 50.0) -> str:
    """Create key ``name``; returns the key itself (shown once, never stored)."""
    if not _NAME.match(name or ""):
        raise ApiKeyError(f"{name!r}: a key name is 1-64 letters, digits, '_', '.' or '-'")
    if not rate_per_second > 0:
        raise ApiKeyError("--rate must be above 0 requests per second")
    if accounts.execute("SELECT 1 FROM api_keys WHERE name = ?", [name]).fetchone():
        raise ApiKeyError(f"a key named {name!r} exists; revoke it or choose another name")
    key = PREFIX + secrets.token_urlsafe(32)
    with accounts.atomic():
        accounts["api_keys"].insert({"name": name, "key_sha256": digest(key), "rate_per_second": rate_per_second,
                                     "created_at": _now(), "revoked_at": None})
    return key


def revoke_key(accounts: sqlite_utils.Database, name: str) -> None:
    with accounts.atomic():
        cur = accounts.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                               [_now(), name])
    if cur.rowcount == 0:
        raise ApiKeyError(f"no active key named {name!r}")


def list_keys(accounts: sqlite_utils.Database) -> list[dict]:
    return list(accounts.query("SELECT name, rate_per_second, created_at, revoked_at FROM api_keys ORDER BY name"))


class KeyStore:
    """Active keys by digest, re-read from the accounts file at most every ``ttl`` seconds, so a
    revocation takes effect within ``ttl`` without a query per request."""

    def __init__(self, accounts_path: str, ttl: float = 2.0):
        self.path, self.ttl = accounts_path, ttl
        self._keys: dict[str, dict] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        from store.accounts import open_accounts

        db = open_accounts(self.path)
        try:
            self._keys = {r["key_sha256"]: r for r in db.query(
                "SELECT name, key_sha256, rate_per_second FROM api_keys WHERE revoked_at IS NULL")}
        finally:
            db.close()
        self._read_at = time.monotonic()

    def lookup(self, key: str | None) -> dict | None:
        if not key:
            return None
        with self._lock:
            if time.monotonic() - self._read_at > self.ttl:
                self._refresh()
            return self._keys.get(digest(key))


class RateLimiter:
    """A token bucket per key name: ``rate`` tokens a second, at most ``2 × rate`` saved up."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}

    def take(self, name: str, rate: float, cost: float = 1.0) -> float:
        """0 when allowed, else the seconds until ``cost`` tokens are there (for Retry-After)."""
        now = self.clock()
        burst = max(2 * rate, cost)
        tokens, last = self._buckets.get(name, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= cost:
            self._buckets[name] = [tokens - cost, now]
            return 0.0
        self._buckets[name] = [tokens, now]
        return (cost - tokens) / rate
