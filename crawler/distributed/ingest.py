"""`sweep ingest`: the one writer of a distributed crawl — listings from Redis into SQLite.

Workers (`sweep worker`) push listings onto ``<prefix>:items``. Ingest moves a batch of them
onto ``<prefix>:items:processing`` with one Lua script, runs the crawl's own stages —
validate → normalise → dedupe → classify (one batch) → store (one transaction) — and only after
the commit deletes the processing list. Killed at any point, the next ingest first puts the
processing list back in front of the queue: what was already committed comes back as 'seen'
(same content hash), so every listing is stored exactly once.

Nothing read from Redis is trusted: a listing must be JSON of the shape workers send
(crawler/distributed/listing_codec.py); anything else — a pickle, bad JSON, unknown keys, wrong
types — is never executed, counted as ``sweep/redis/rejected/<reason>`` (in the run's stats),
logged once per reason and kept on ``<prefix>:rejected``; the batch goes on without it.

One crawl run per distributed crawl: the run opens with the first listing and closes once the
crawl is over — no worker heartbeat, no request queued or being processed, nothing left to
ingest — so the same listing in the next crawl is an update, not a duplicate.

Faults: the database locked by another process is retried with growing pauses (a warning and
``sweep/store/locked`` each time); a full disk, any other write error, or a lock that outlasts
the retries stops ingest with :class:`IngestError` — the batch stays in Redis for the next one.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import time
from collections import Counter
from types import SimpleNamespace

import psutil
from scrapy.exceptions import DropItem

from crawler.distributed.keys import Keys
from crawler.distributed.listing_codec import decode_listing, decode_platform
from crawler.distributed.wire import Rejected, Rejects, printable
from crawler.items import Listing
from crawler.pipelines.classify import as_record
from crawler.pipelines.dedupe import DedupePipeline
from crawler.pipelines.normalise import NormalisePipeline
from crawler.pipelines.store import failure_kind
from crawler.pipelines.validate import ValidatePipeline

from store.db import open_db
from store.listings import Store
from common.errors import SweepError

logger = logging.getLogger(__name__)

TAKE = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
    local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
    if not v then break end
    out[#out + 1] = v
end
return out
"""

PUT_BACK = """
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
return n
"""


class IngestError(SweepError, RuntimeError):
    """Ingest cannot go on (another ingest runs, the disk is full …); nothing is lost."""


class Stats(Counter):
    """The little of Scrapy's stats collector the pipeline stages use."""

    def inc_value(self, key, count=1, start=0):
        self[key] += count

    def set_value(self, key, value):
        self[key] = value

    def get_value(self, key, default=None):
        return self.get(key, default)


class Ingest:
    def __init__(self, server, db_path: str, model_path: str, keys: Keys = Keys(), batch_size: int = 200,
                 busy_timeout: float = 10.0, retries: int = 5, lock_ttl: float = 30.0):
        self.server = server
        self.db_path = db_path
        self.model_path = model_path
        self.keys = keys
        self.batch_size = batch_size
        self.busy_timeout = busy_timeout
        self.retries = retries
        self.lock_ttl = lock_ttl
        self.me = json.dumps({"host": socket.gethostname(), "pid": os.getpid()})
        self.stats = Stats()
        self.run_stats = Stats()
        self.store: Store | None = None
        self.model = None
        self.run_id: int | None = None
        self.platforms: set[str] = set()
        self._take = server.register_script(TAKE)
        self._put_back = server.register_script(PUT_BACK)
        self.rejects = Rejects(server, keys.rejected, self.stats, "listing")
        self._stages()

    def _stages(self) -> None:
        """Fresh stages for a run: the dedupe stage remembers what this run has seen."""
        self.validate = ValidatePipeline(self.run_stats)
        self.normalise = NormalisePipeline()
        self.dedupe = DedupePipeline(self.db_path, self.run_stats)

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> int:
        """Take the ingest lock, put back what a killed ingest left; returns how many listings that was."""
        self._lock()
        from classifier.predict import shared

        self.model = shared(self.model_path)
        db = open_db(self.db_path)
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self.store = Store(db)
        self.dedupe.open_spider()
        back = self._put_back(keys=[self.keys.items_processing, self.keys.items])
        if back:
            logger.warning("put back %d listings a stopped ingest had taken", back)
        return back

    def close(self) -> None:
        if self.run_id is not None:
            try:
                self.finish_run("failed" if self.pending_work() else "ok")
            except sqlite3.Error as exc:            # e.g. the disk is full: the run stays open, nothing is lost
                logger.error("could not close run %s: %s", self.run_id, exc)
        self.dedupe.close_spider()
        self.store.db.close()
        if self.server.get(self.keys.ingest_lock) == self.me.encode():
            self.server.delete(self.keys.ingest_lock)

    def _lock(self) -> None:
        key = self.keys.ingest_lock
        if self.server.set(key, self.me, nx=True, px=int(self.lock_ttl * 1000)):
            return
        holder = self.server.get(key)
        try:
            other = json.loads(holder)
        except (TypeError, ValueError, RecursionError):
            other = {}
        if not isinstance(other, dict):
            other = {}
        pid = other.get("pid")
        if other.get("host") == socket.gethostname() and isinstance(pid, int) and not psutil.pid_exists(pid):
            logger.warning("taking over the ingest lock of process %s, which is gone", other.get("pid"))
            self.server.set(key, self.me, px=int(self.lock_ttl * 1000))
            return
        said = printable(holder.decode("utf-8", "replace")) if holder else "unknown"
        raise IngestError(f"another `sweep ingest` is running ({said}); "
                          f"a distributed crawl has exactly one writer")

    def _refresh_lock(self) -> None:
        self.server.set(self.keys.ingest_lock, self.me, px=int(self.lock_ttl * 1000))

    # -- one batch -------------------------------------------------------------------------------
    def step(self, wait: float = 1.0) -> int:
        """Ingest one batch (waiting up to ``wait`` seconds for the first listing); how many were taken."""
        self._refresh_lock()
        raw = self._take(keys=[self.keys.items, self.keys.items_processing], args=[self.batch_size])
        if not raw and wait > 0:
            first = self.server.blmove(self.keys.items, self.keys.items_processing, wait, "LEFT", "RIGHT")
            if first is None:
                return 0
            raw = [first, *self._take(keys=[self.keys.items, self.keys.items_processing], args=[self.batch_size - 1])]
        if not raw:
            return 0
        listings = [item for item in map(self._stage, raw) if item is not None]
        self._classify(listings)
        if listings:
            self._ensure_run(listings)
            self._write(listings)
        self.server.delete(self.keys.items_processing)         # acknowledged: the batch is committed
        self.stats.inc_value("ingested", len(raw))
        return len(raw)

    def _stage(self, data: bytes) -> Listing | None:
        try:
            item = decode_listing(data)
        except Rejected as exc:          # never executed: counted with the run, kept aside, and on to the next
            self.rejects(data, exc, f"list {self.keys.items}")
            self.run_stats.inc_value(f"sweep/redis/rejected/{exc.reason}")
            return None
        try:
            item = self.validate.process_item(item)
            item = self.normalise.process_item(item)
            return self.dedupe.process_item(item)
        except DropItem:
            return None

    def _classify(self, listings: list[Listing]) -> None:
        todo = [item for item in listings if item.status != "seen"]
        if not todo:
            return
        for item, result in zip(todo, self.model.predict([as_record(item) for item in todo])):
            item.classification = result
            self.run_stats.inc_value("sweep/classified")
            if result["flagged"]:
                self.run_stats.inc_value(f"sweep/flagged/{result['label']}")

    def _write(self, listings: list[Listing]) -> None:
        for attempt in range(1, self.retries + 2):
            try:
                self.store.write_batch(listings, self.run_id)
            except sqlite3.Error as exc:
                kind = failure_kind(exc)
                self.run_stats.inc_value(f"sweep/store/{kind}")
                if kind == "locked" and attempt <= self.retries:
                    pause = self.busy_timeout * attempt
                    logger.warning("database %s is locked by another process (%s): %d listings kept in Redis, retry "
                                   "%d of %d in %.0fs", self.db_path, exc, len(listings), attempt, self.retries, pause)
                    self._sleep(pause)
                    continue
                what = {"locked": f"still locked after {self.retries} retries",
                        "disk_full": "the disk is full"}.get(kind, str(exc))
                raise IngestError(f"cannot write to database {self.db_path} ({what}); {len(listings)} listings are "
                                  f"kept in Redis — run `sweep ingest` again once fixed") from exc
            self.run_stats.inc_value("sweep/stored", len(listings))
            return

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._refresh_lock()
            time.sleep(min(1.0, end - time.monotonic()))

    # -- runs ------------------------------------------------------------------------------------
    def _ensure_run(self, listings: list[Listing]) -> None:
        new = {item.platform for item in listings} - self.platforms
        if new:
            known = {}
            for name, data in self.server.hgetall(self.keys.platforms).items():
                name = name.decode("utf-8", "replace")
                try:
                    known[name] = decode_platform(name, data)
                except Rejected as exc:      # the listing is still stored, under a bare platform record
                    self.rejects(data, exc, f"hash {self.keys.platforms} field {name[:80]!r}")
                    self.run_stats.inc_value(f"sweep/redis/rejected/{exc.reason}")
            self.store.register_platforms([SimpleNamespace(**known.get(name, {"name": name, "kind": "", "base_url": "",
                                                                             "path": "", "enabled": True}))
                                           for name in sorted(new)])
            self.platforms |= new
        if self.run_id is None:
            self.run_id = self.store.start_run(sorted(self.platforms))
            logger.info("run %d opened", self.run_id)

    def finish_run(self, outcome: str) -> dict:
        stats = {"distributed": True, "platforms": sorted(self.platforms),
                 **{k: v for k, v in sorted(self.run_stats.items())}}
        self.store.finish_run(self.run_id, outcome, stats)
        logger.info("run %d closed: %s, %d listings stored", self.run_id, outcome, self.run_stats["sweep/stored"])
        self.run_id, self.platforms = None, set()
        self.run_stats = Stats()
        self.dedupe.close_spider()
        self._stages()
        self.dedupe.open_spider()
        return stats

    # -- the state of the crawl in Redis ---------------------------------------------------------
    def live_workers(self) -> int:
        return sum(1 for _ in self.server.scan_iter(match=self.keys.heartbeats))

    def pending_work(self) -> int:
        """Requests queued or held by workers, and listings not yet ingested."""
        n = self.server.llen(self.keys.items) + self.server.llen(self.keys.items_processing)
        for key in self.server.scan_iter(match=self.keys.request_queues):
            n += self.server.llen(key)
        for key in self.server.scan_iter(match=self.keys.processing_pattern()):
            n += self.server.llen(key)
        return n

    def run(self, exit_when_idle: float | None = None, should_stop=lambda: False, wait: float = 1.0) -> None:
        """Ingest until stopped; with ``exit_when_idle``, until no worker has been alive and nothing
        has arrived for that many seconds."""
        idle_since = time.monotonic()
        while not should_stop():
            if self.step(wait):
                idle_since = time.monotonic()
                continue
            workers = self.live_workers()
            if self.run_id is not None and not workers and not self.pending_work():
                self.finish_run("ok")          # the crawl is over: the next listing opens a new run
            if exit_when_idle is not None and not workers and time.monotonic() - idle_since >= exit_when_idle:
                left = self.pending_work()
                if left:
                    logger.warning("no worker is alive and %d requests are left in Redis; start `sweep worker` "
                                   "again to finish the crawl", left)
                return
