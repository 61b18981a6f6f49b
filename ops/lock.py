"""A named lock in the database, so two cycles never overlap — even from different processes.

The lock is a row in ``locks`` (store/migrations/operations.py). Taking it is one ``BEGIN IMMEDIATE``
transaction: free → ours; held by a live holder → :class:`LockHeld`; held by a *stale* holder →
taken over, and the stale holder is handed back so the caller can say so. A holder is stale when

- it ran on this host and its process is gone (killed, crashed; a reused pid is told apart by the
  process start time, a zombie counts as gone), or
- its heartbeat is older than ``stale_after`` seconds (hung, stopped, or on another host).

While held, :meth:`DatabaseLock.start_heartbeat` refreshes ``heartbeat_at`` from a background
thread; if the row was taken over meanwhile the lock is marked :attr:`~DatabaseLock.lost`, and the
holder must stop before doing anything that must not happen twice (filing reports).

Times come from ``clock`` — a common/clock.py clock, or any callable returning an aware datetime
(``as_clock``) — so ``--now`` and tests can age a lock.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from common.clock import as_clock
from store.db import open_db


@dataclass
class Holder:
    """Who holds (or held) a lock."""
    name: str
    token: str
    pid: int
    pid_started: float | None
    host: str
    acquired_at: str
    heartbeat_at: str
    purpose: str = ""

    def describe(self) -> str:
        return (f"pid {self.pid} on {self.host} since {self.acquired_at} (last heartbeat {self.heartbeat_at})"
                + (f" for {self.purpose}" if self.purpose else ""))


class LockHeld(RuntimeError):
    """The lock is held by a live holder."""

    def __init__(self, holder: Holder):
        self.holder = holder
        super().__init__(f"lock {holder.name!r} is held by {holder.describe()}")


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether ``pid`` is a running (not zombie) process, and the same one if ``started`` is given."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _connect(db_path: str) -> sqlite3.Connection:
    con = sqlite3.connect(db_path, isolation_level=None, timeout=30)   # autocommit; explicit BEGIN below
    con.row_factory = sqlite3.Row
    return con


def read_holder(db_path: str | Path, name: str = "cycle") -> Holder | None:
    """The current holder of ``name``, or None."""
    con = _connect(str(db_path))
    try:
        row = con.execute("SELECT * FROM locks WHERE name = ?", [name]).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        row = None                     # a database not migrated (yet): nobody holds anything
    finally:
        con.close()
    return Holder(**dict(row)) if row else None


class DatabaseLock:
    """``with DatabaseLock(db, "cycle") as lock: ...`` — raises :class:`LockHeld` if it is busy."""

    def __init__(self, db_path: str | Path, name: str = "cycle", stale_after: float = 600.0,
                 heartbeat: float = 30.0, clock=None, purpose: str = ""):
        self.db_path = str(db_path)
        self.name = name
        self.stale_after = stale_after
        self.heartbeat = heartbeat
        self.clock = as_clock(clock)
        self.purpose = purpose
        self.token = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.held = False
        self.lost = False
        self.took_over: Holder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- taking and giving back ------------------------------------------------------------------
    def is_stale(self, holder: Holder) -> bool:
        if holder.host == self.host and not process_alive(holder.pid, holder.pid_started):
            return True
        try:
            age = (self.clock.now() - datetime.fromisoformat(holder.heartbeat_at)).total_seconds()
        except ValueError:
            return True
        return age > self.stale_after

    def acquire(self) -> Holder | None:
        """Take the lock; returns the stale holder it took over from (or None). Raises LockHeld."""
        open_db(self.db_path).close()           # create/migrate the schema first
        now = self.clock.now().isoformat(timespec="seconds")
        con = _connect(self.db_path)
        try:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT * FROM locks WHERE name = ?", [self.name]).fetchone()
            previous = Holder(**dict(row)) if row else None
            if previous and not self.is_stale(previous):
                con.execute("ROLLBACK")
                raise LockHeld(previous)
            con.execute("INSERT OR REPLACE INTO locks (name, token, pid, pid_started, host, acquired_at, heartbeat_at, "
                        "purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [self.name, self.token, self.pid, _process_started(self.pid), self.host, now, now,
                         self.purpose])
            con.execute("COMMIT")
        finally:
            con.close()
        self.held, self.lost, self.took_over = True, False, previous
        return previous

    def beat(self, con: sqlite3.Connection | None = None) -> bool:
        """Refresh the heartbeat; False (and ``lost``) if someone else holds the lock now."""
        own = con is None
        con = con or _connect(self.db_path)
        try:
            cur = con.execute("UPDATE locks SET heartbeat_at = ? WHERE name = ? AND token = ?",
                              [self.clock.now().isoformat(timespec="seconds"), self.name, self.token])
            ok = cur.rowcount == 1
        finally:
            if own:
                con.close()
        if not ok:
            self.lost = True
        return ok

    def release(self) -> None:
        self.stop_heartbeat()
        if not self.held:
            return
        con = _connect(self.db_path)
        try:
            con.execute("DELETE FROM locks WHERE name = ? AND token = ?", [self.name, self.token])
        finally:
            con.close()
        self.held = False

    # -- heartbeat -------------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        if self._thread is None and self.heartbeat > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat_loop, name=f"lock-{self.name}-heartbeat",
                                            daemon=True)
            self._thread.start()

    def stop_heartbeat(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _beat_loop(self) -> None:
        con = _connect(self.db_path)
        try:
            while not self._stop.wait(self.heartbeat):
                try:
                    if not self.beat(con):
                        return
                except sqlite3.Error:       # a busy database: try again next beat
                    continue
        finally:
            con.close()

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        self.start_heartbeat()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
