"""One policy for a write that meets another process's lock on the database ("database is locked").

SQLite itself waits up to ``busy_timeout`` for the lock; past it the write fails with SQLITE_BUSY or
SQLITE_LOCKED. Both writers of listings — the crawl's store stage (crawler/pipelines/store.py) and,
through that same stage, `sweep ingest` — then retry here: pauses that grow (busy timeout × failures in
a row), at most ``retries`` times. Anything else (the disk is full, a broken file) gives up at once:
waiting cannot help. Each failure is counted as ``sweep/store/<locked|disk_full|error>``.
"""
from __future__ import annotations

import logging
import sqlite3
import time

logger = logging.getLogger(__name__)

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL = 5, 6, 13


def failure_kind(exc: sqlite3.Error) -> str:
    """'locked' (another process holds the database), 'disk_full', or 'error'."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return "locked"
    if code == SQLITE_FULL:
        return "disk_full"
    return "error"


class WriteFailed(Exception):
    """The write was given up: ``kind`` is 'locked' (retries used up), 'disk_full' or 'error'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class LockedRetry:
    """Counts failed writes in a row; says how long to pause before the next attempt, or gives up."""

    def __init__(self, db_path, busy_timeout: float, retries: int, stats):
        self.db_path = db_path
        self.busy_timeout = busy_timeout
        self.retries = retries
        self.stats = stats
        self.failures = 0

    def failed(self, exc: sqlite3.Error, kept: str) -> float:
        """Count a failed write; the pause before retrying it, or :class:`WriteFailed` to give up.
        ``kept`` says what the caller keeps for the retry (logged)."""
        kind = failure_kind(exc)
        self.failures += 1
        self.stats.inc_value(f"sweep/store/{kind}")
        if kind == "locked" and self.failures <= self.retries:
            pause = self.busy_timeout * self.failures
            logger.warning("database %s is locked by another process (%s): %s, retry %d of %d in %.1fs",
                           self.db_path, exc, kept, self.failures, self.retries, pause)
            return pause
        what = {"locked": f"still locked after {self.retries} retries", "disk_full": "the disk is full"}.get(kind, exc)
        raise WriteFailed(kind, f"cannot write to database {self.db_path} ({what})") from exc

    def succeeded(self) -> None:
        self.failures = 0

    def call(self, write, kept: str, wait=time.sleep):
        """``write()`` until it succeeds, ``wait(pause)`` between attempts; raises :class:`WriteFailed`."""
        while True:
            try:
                result = write()
            except sqlite3.Error as exc:
                wait(self.failed(exc, kept))
                continue
            self.succeeded()
            return result
