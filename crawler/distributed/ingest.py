"""`sweep ingest`: the one writer of a distributed crawl — listings from Redis into SQLite.

Workers (`sweep worker`) push listings onto ``<prefix>:items``. Ingest moves a batch of them
onto ``<prefix>:items:processing`` with one Lua script, runs the crawl's own stages — the
classes of crawler/pipelines/__init__.py STAGES, in its order, built from the crawl's settings:
validate → normalise → schema → dedupe → classify (one batch) → store (one transaction) — and only
after the commit deletes the processing list. Killed at any point, the next ingest first puts the
processing list back in front of the queue: what was already committed comes back as 'seen'
(same content hash), so every listing is stored exactly once.

Nothing read from Redis is trusted: a listing must be JSON of the shape workers send
(crawler/distributed/listing_codec.py); anything else — a pickle, bad JSON, unknown keys, wrong
types — is never executed, counted as ``sweep/redis/rejected/<reason>`` (in the run's stats),
logged once per reason and kept on ``<prefix>:rejected``; the batch goes on without it.

One crawl run per distributed crawl: the run opens with the first listing and closes once the
crawl is over — no worker heartbeat, no request queued or being processed, nothing left to
ingest — so the same listing in the next crawl is an update, not a duplicate.

Faults: the database locked by another process is retried with growing pauses (store/retry.py,
the store stage's own policy: a warning and ``sweep/store/locked`` each time); a full disk, any
other write error, or a lock that outlasts the retries stops ingest with :class:`IngestError` —
the batch stays in Redis for the next one.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import sys
import time
from collections import Counter
from types import SimpleNamespace

import psutil
from scrapy.exceptions import DropItem
from scrapy.signalmanager import SignalManager

from crawler.distributed.keys import Keys
from crawler.distributed.listing_codec import decode_listing, decode_platform
from crawler.distributed.wire import Rejected, Rejects, printable
from crawler.items import Listing
from crawler.pipelines import build_stages
from crawler.pipelines.store import StorePipeline
from crawler.run import crawl_settings

from store.db import open_db
from store.listings import Store
from common.errors import SweepError
from store.retry import WriteFailed

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


class StageHost:
    """What the stages read from Scrapy's Crawler, outside a crawl: settings, stats and signals.
    No spider (so the store stage leaves runs and platforms to ingest) and no engine."""

    def __init__(self, settings):
        self.settings = settings
        self.stats = Stats()
        self.signals = SignalManager(self)
        self.spider = None
        self.engine = None


class Ingest:
    def __init__(self, server, db_path: str, model_path: str, keys: Keys | None = None, batch_size: int = 200,
                 busy_timeout: float = 10.0, retries: int = 5, lock_ttl: float = 30.0, settings: dict | None = None):
        """``settings``: crawl settings over crawler/settings.py (e.g. Spidermon's validation ones)."""
        self.server = server
        self.db_path = db_path
        self.keys = keys if keys is not None else Keys()
        self.batch_size = batch_size
        self.lock_ttl = lock_ttl
        self.settings = crawl_settings(db_path, overrides={
            "SWEEP_MODEL": model_path, "SWEEP_CLASSIFY_BATCH": batch_size,
            "SWEEP_CLASSIFY_WORKERS": 0,            # one batch at a time: nothing to overlap with
            "SWEEP_STORE_BATCH": sys.maxsize,       # ingest commits once per Redis batch (commit())
            "SWEEP_STORE_BUSY_TIMEOUT": busy_timeout, "SWEEP_STORE_RETRIES": retries, **(settings or {})})
        self.me = json.dumps({"host": socket.gethostname(), "pid": os.getpid()})
        self.stats = Stats()
        self.store: Store | None = None
        self.stages: list = []
        self.host: StageHost | None = None
        self.run_id: int | None = None
        self.platforms: set[str] = set()
        self.loop = asyncio.new_event_loop()        # the classify stage awaits its batch
        self._take = server.register_script(TAKE)
        self._put_back = server.register_script(PUT_BACK)
        self.rejects = Rejects(server, self.keys.rejected, self.stats, "listing")

    @property
    def run_stats(self) -> Stats:
        """This run's stats: the stages' (as a crawl's) and the listings rejected on the way in."""
        return self.host.stats

    @property
    def store_stage(self) -> StorePipeline:
        return next(stage for stage in self.stages if isinstance(stage, StorePipeline))

    def _open_stages(self) -> None:
        """Fresh stages for a run, as a crawl has: the dedupe stage remembers what this run has seen."""
        self.host = StageHost(self.settings)
        for stage in build_stages(self.host):
            if hasattr(stage, "open_spider"):
                try:
                    stage.open_spider()       # the classify stage loads the model: a bad one fails here
                except BaseException:
                    self._close_stages()
                    raise
            self.stages.append(stage)

    def _close_stages(self) -> None:
        """Close the opened stages; what the store stage still holds was not committed: it is still in Redis."""
        for stage in reversed(self.stages):
            if isinstance(stage, StorePipeline):
                stage.buffer.clear()
            if hasattr(stage, "close_spider"):
                stage.close_spider()
        self.stages = []

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> int:
        """Take the ingest lock, put back what a killed ingest left; returns how many listings that was."""
        self._lock()
        db = open_db(self.db_path)
        db.execute(f"PRAGMA busy_timeout = {int(self.settings.getfloat('SWEEP_STORE_BUSY_TIMEOUT') * 1000)}")
        self.store = Store(db)
        self._open_stages()             # loads the model: a missing or untrusted one fails here
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
        if self.stages:
            self._close_stages()
        self.loop.close()
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
        self.commit(self.process(raw))
        self.server.delete(self.keys.items_processing)         # acknowledged: the batch is committed
        self.stats.inc_value("ingested", len(raw))
        return len(raw)

    def process(self, raw: list[bytes]) -> list[Listing]:
        """Decode and run every stage up to the store's commit; the listings now in the store stage's buffer."""
        listings = [item for item in map(self._decode, raw) if item is not None]
        return [item for item in self.loop.run_until_complete(self._through_stages_all(listings)) if item is not None]

    async def _through_stages_all(self, listings: list[Listing]) -> list:
        return await asyncio.gather(*map(self._through_stages, listings))

    def _decode(self, data: bytes) -> Listing | None:
        try:
            return decode_listing(data)
        except Rejected as exc:          # never executed: counted with the run, kept aside, and on to the next
            self.rejects(data, exc, f"list {self.keys.items}")
            self.run_stats.inc_value(f"sweep/redis/rejected/{exc.reason}")
            return None

    async def _through_stages(self, item: Listing) -> Listing | None:
        """One listing through the stages, in order, as Scrapy passes it (a stage may be a coroutine)."""
        try:
            for stage in self.stages:
                item = stage.process_item(item)
                if asyncio.iscoroutine(item):
                    item = await item
        except DropItem:
            return None
        return item

    def commit(self, listings: list[Listing]) -> None:
        """The store stage's one transaction, its locked-retry policy waited out here (refreshing our lock)."""
        if not listings:
            return
        self._ensure_run(listings)
        stage = self.store_stage
        stage.run_id = self.run_id
        try:
            stage.retry.call(stage.commit, f"{len(listings)} listings kept in Redis", wait=self._sleep)
        except WriteFailed as failed:
            stage.buffer.clear()
            raise IngestError(f"{failed}; {len(listings)} listings are kept in Redis — run `sweep ingest` again "
                              f"once fixed") from failed

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
                 **dict(sorted(self.run_stats.items()))}
        self.store.finish_run(self.run_id, outcome, stats)
        logger.info("run %d closed: %s, %d listings stored", self.run_id, outcome, self.run_stats["sweep/stored"])
        self.run_id, self.platforms = None, set()
        self._close_stages()
        self._open_stages()
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
