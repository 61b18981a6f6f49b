"""The frontier file: requests still to do and requests already seen, per crawl, in SQLite.

One file beside the database (``sweep.db`` → ``sweep.db-frontier``), not tables in it: the
frontier changes with every request, is private to the crawl process, and must keep working
while another process holds the database's write lock. A crawl is keyed by its platform
(profile) name, so the spiders of one ``sweep crawl`` share the file.

A new request and its fingerprint are written in one transaction: a request is never "seen"
without also being queued — the hole that makes a SIGKILLed JOBDIR crawl resume with nothing to
do. ``add``/``remove`` commit before they return; the crawl itself uses the batched forms
(``write``/``forget``, then ``commit``): one WAL commit per batch instead of per request was
~0.3 ms per page. Batching keeps the guarantee because everything goes through one connection,
in order: an acknowledgement (``forget``) can only be on disk if every request written before
it is, so a kill loses at most a tail of writes whose parents are not yet acknowledged — the
resumed crawl fetches those parents again and regenerates them.

Requests are stored pickled (as Scrapy's JOBDIR queues store them): the file is the crawl's
own, written and read only by Sweep on this machine.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import threading
from pathlib import Path

import psutil

from common.clock import SYSTEM

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    crawl TEXT NOT NULL,
    priority INTEGER NOT NULL,
    request BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_crawl ON requests (crawl);
CREATE TABLE IF NOT EXISTS seen (
    crawl TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    PRIMARY KEY (crawl, fingerprint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crawls (
    crawl TEXT PRIMARY KEY,
    run_id INTEGER,
    started_at TEXT NOT NULL,
    host TEXT,
    pid INTEGER
);
"""


class FrontierBusy(RuntimeError):
    """Another live process is crawling the same platform with the same frontier file."""

_open: dict[str, list] = {}          # path -> [Frontier, users]: the spiders of one process share a connection
_lock = threading.Lock()


def frontier_path(db_path: str | Path) -> Path:
    """Where the frontier of a database lives: ``sweep.db`` → ``sweep.db-frontier`` (beside -wal and -shm)."""
    db = Path(db_path)
    return db.with_name(f"{db.name}-frontier")


class Frontier:
    def __init__(self, path: str | Path, busy_timeout: float = 30.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.executescript(SCHEMA)
        self.staged: dict[int, tuple[str, bytes]] = {}   # requests written in the open batch: id -> (crawl, request)
        self.writes = 0                                  # other writes in the open batch
        self.on_rollback: list = []                      # called with the staged requests of a batch that was lost

    # -- shared per process -------------------------------------------------------------------
    @classmethod
    def acquire(cls, path: str | Path) -> Frontier:
        key = str(Path(path).resolve())
        with _lock:
            if key not in _open:
                _open[key] = [cls(path), 0]
            _open[key][1] += 1
            return _open[key][0]

    def release(self) -> None:
        key = str(self.path.resolve())
        with _lock:
            if key in _open:
                _open[key][1] -= 1
                if _open[key][1] == 0:
                    frontier = _open.pop(key)[0]
                    try:
                        frontier.commit()
                    finally:
                        frontier.conn.close()

    # -- crawls --------------------------------------------------------------------------------
    def begin(self, crawl: str, run_id: int | None, resume: bool) -> tuple[int, int]:
        """Start a crawl: resume what an interrupted one left, or forget it.

        Returns (requests resumed, requests discarded). Resuming a crawl with nothing left starts
        afresh: it had finished all its work, only not forgotten its seen-set.
        """
        host, pid = socket.gethostname(), os.getpid()
        with self._transaction():
            owner = self.conn.execute("SELECT host, pid FROM crawls WHERE crawl = ?", [crawl]).fetchone()
            if owner and owner[1] and owner[1] != pid and owner[0] == host and psutil.pid_exists(owner[1]):
                raise FrontierBusy(f"{self.path}: {crawl} is being crawled by process {owner[1]}; one crawl of a "
                                   f"platform per frontier at a time")
            left = self.pending_count(crawl)
            if not (resume and left):
                self.conn.execute("DELETE FROM requests WHERE crawl = ?", [crawl])
                self.conn.execute("DELETE FROM seen WHERE crawl = ?", [crawl])
            self.conn.execute("INSERT INTO crawls (crawl, run_id, started_at, host, pid) VALUES (?, ?, ?, ?, ?) "
                              "ON CONFLICT(crawl) DO UPDATE SET run_id = excluded.run_id, started_at = "
                              "excluded.started_at, host = excluded.host, pid = excluded.pid",
                              [crawl, run_id, SYSTEM.now().isoformat(timespec="seconds"), host, pid])
        return (left, 0) if resume else (0, left)

    def end(self, crawl: str) -> None:
        """This process no longer crawls ``crawl`` (what it left stays for a resume)."""
        with self._transaction():
            self.conn.execute("UPDATE crawls SET pid = NULL WHERE crawl = ? AND pid = ?", [crawl, os.getpid()])

    def complete(self, crawl: str) -> bool:
        """Forget a crawl that has nothing left to do; False (and nothing forgotten) if it has."""
        with self._transaction():
            if self.conn.execute("SELECT 1 FROM requests WHERE crawl = ? LIMIT 1", [crawl]).fetchone():
                return False
            self.conn.execute("DELETE FROM seen WHERE crawl = ?", [crawl])
            self.conn.execute("DELETE FROM crawls WHERE crawl = ?", [crawl])
        return True

    def interrupted(self) -> dict[str, dict]:
        """Crawls with requests left: {crawl: {"pending": n, "run_id": id}}."""
        rows = self.conn.execute("SELECT r.crawl, count(*), c.run_id FROM requests r LEFT JOIN crawls c "
                                 "ON c.crawl = r.crawl GROUP BY r.crawl").fetchall()
        return {crawl: {"pending": n, "run_id": run_id} for crawl, n, run_id in rows}

    # -- requests ------------------------------------------------------------------------------
    def add(self, crawl: str, request: bytes, priority: int, fingerprint: bytes | None) -> int | None:
        """Queue a request, committed; None if its fingerprint was seen before in this crawl."""
        self.commit()                     # a batch in progress first: it may not become part of this one
        request_id = self.write(crawl, request, priority, fingerprint)
        self.commit()
        return request_id

    # -- batched writes (one open transaction, committed by ``commit``) ------------------------
    def write(self, crawl: str, request: bytes, priority: int, fingerprint: bytes | None) -> int | None:
        """``add`` inside the open batch. On an error the whole batch is rolled back (and reported
        to ``on_rollback``) before the error is raised."""
        with self._batch():
            if fingerprint is not None:
                cur = self.conn.execute("INSERT OR IGNORE INTO seen (crawl, fingerprint) VALUES (?, ?)",
                                        [crawl, fingerprint])
                if cur.rowcount == 0:
                    return None
            request_id = self.conn.execute("INSERT INTO requests (crawl, priority, request) VALUES (?, ?, ?)",
                                           [crawl, priority, request]).lastrowid
            self.staged[request_id] = (crawl, request)
            return request_id

    def forget(self, request_ids: list[int]) -> None:
        """``remove`` inside the open batch."""
        with self._batch():
            self.conn.executemany("DELETE FROM requests WHERE id = ?", [(i,) for i in request_ids])
            self.writes += len(request_ids)

    def commit(self) -> None:
        """Make the open batch durable; on failure it is rolled back whole, reported, and the error raised."""
        if not self.conn.in_transaction:
            return
        with self._batch():
            self.conn.execute("COMMIT")
        self.staged.clear()
        self.writes = 0

    @property
    def batch_size(self) -> int:
        return len(self.staged) + self.writes

    def _batch(self):
        return _Batch(self)

    def _lose_batch(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        lost, self.staged, self.writes = self.staged, {}, 0
        for listener in list(self.on_rollback):
            listener(lost)

    def is_seen(self, crawl: str, fingerprint: bytes) -> bool:
        return self.conn.execute("SELECT 1 FROM seen WHERE crawl = ? AND fingerprint = ?",
                                 [crawl, fingerprint]).fetchone() is not None

    def get(self, request_id: int) -> bytes | None:
        row = self.conn.execute("SELECT request FROM requests WHERE id = ?", [request_id]).fetchone()
        return row[0] if row else None

    def remove(self, request_ids: list[int]) -> None:
        """Acknowledge, committed: these requests are done."""
        self.commit()
        self.forget(request_ids)
        self.commit()

    def pending(self, crawl: str) -> list[tuple[int, int]]:
        """(id, priority) of every request not yet acknowledged."""
        return self.conn.execute("SELECT id, priority FROM requests WHERE crawl = ?", [crawl]).fetchall()

    def pending_count(self, crawl: str) -> int:
        return self.conn.execute("SELECT count(*) FROM requests WHERE crawl = ?", [crawl]).fetchone()[0]

    def seen_count(self, crawl: str) -> int:
        return self.conn.execute("SELECT count(*) FROM seen WHERE crawl = ?", [crawl]).fetchone()[0]

    def _transaction(self):
        self.commit()                       # a batch in progress first: it may not become part of this one
        return _Transaction(self.conn)


class _Batch:
    """Opens the batch transaction if none is open; any error rolls the whole batch back."""

    def __init__(self, frontier: Frontier):
        self.frontier = frontier

    def __enter__(self):
        if not self.frontier.conn.in_transaction:
            self.frontier.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.frontier._lose_batch()
        return False


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error (a full disk leaves nothing half-written)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return False
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        return False
