"""Write finished listings to SQLite in batched transactions (whole listings or nothing).

After each commit the batch is announced (``items_committed``), so the scheduler acknowledges
the requests the listings came from only once they are safe (crawler/scheduler/tracking.py).

A write that fails is rolled back whole and its listings are kept:

- the database is locked by another process (longer than SWEEP_STORE_BUSY_TIMEOUT): a warning,
  ``sweep/store/locked``, and retries with growing pauses, at most SWEEP_STORE_RETRIES times;
- the disk is full (``sweep/store/disk_full``), or the write fails otherwise, or the lock
  outlasts the retries: an error, and the crawl stops cleanly. What could not be stored is
  announced (``commit_failed``, ``sweep/store/unsaved``): its requests stay in the frontier and
  ``--resume`` fetches them again.

A bare ``scrapy crawl`` (no SWEEP_RUN_ID) opens its own run and, once the spider has closed and
its monitors have run, records it as a cycle does: the platform's summary and monitor results.

Settings read: SWEEP_DB, SWEEP_RUN_ID,
SWEEP_STORE_BATCH, SWEEP_STORE_BUSY_TIMEOUT, SWEEP_STORE_RETRIES.
"""
from __future__ import annotations

import logging
import sqlite3
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from store.db import open_db
from store.listings import Store

from ..stats import summarise

from ..items import Listing
from ..scheduler.tracking import commit_failed, items_committed

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


class StorePipeline:
    def __init__(self, db_path: str, run_id: int | None, batch_size: int, crawler, busy_timeout: float = 30.0,
                 retries: int = 5):
        self.db_path = db_path
        self.run_id = run_id
        self.own_run = run_id is None
        self.batch_size = batch_size
        self.crawler = crawler
        self.busy_timeout = busy_timeout
        self.retries = retries
        self.buffer: list[Listing] = []
        self.store: Store | None = None
        self.failures = 0               # failed writes in a row
        self.retry_at = 0.0
        self.stopping: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("SWEEP_DB"):
            raise NotConfigured("SWEEP_DB is not set")
        run_id = s.getint("SWEEP_RUN_ID") or None
        pipeline = cls(s.get("SWEEP_DB"), run_id, s.getint("SWEEP_STORE_BATCH"), crawler,
                       s.getfloat("SWEEP_STORE_BUSY_TIMEOUT", 30.0), s.getint("SWEEP_STORE_RETRIES", 5))
        if pipeline.own_run:
            # Connected after the extensions (Spidermon's among them), so the monitors have run by then.
            crawler.signals.connect(pipeline.finish_own_run, signal=signals.spider_closed)
        return pipeline

    def open_spider(self):
        self.store = Store(open_db(self.db_path))
        self.store.register_platforms([self.crawler.spider.profile])
        self.store.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        if self.own_run:
            self.run_id = self.store.start_run([self.crawler.spider.profile.name])

    def process_item(self, item: Listing):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size and not self.stopping and time.monotonic() >= self.retry_at:
            self.flush()
        return item

    def flush(self) -> bool:
        """Write the buffer in one transaction; on failure keep it (nothing half-written) and say so."""
        batch = self.buffer
        if not batch:
            return True
        try:
            self.store.write_batch(batch, self.run_id)
        except sqlite3.Error as exc:
            self._write_failed(len(batch), exc)
            return False
        self.buffer = []
        self.failures = 0
        self.crawler.stats.inc_value("sweep/stored", len(batch))
        self.crawler.signals.send_catch_log(signal=items_committed, items=batch)
        return True

    def _write_failed(self, count: int, exc: sqlite3.Error) -> None:
        kind = failure_kind(exc)
        self.failures += 1
        self.crawler.stats.inc_value(f"sweep/store/{kind}")
        if kind == "locked" and self.failures <= self.retries:
            pause = self.busy_timeout * self.failures
            self.retry_at = time.monotonic() + pause
            logger.warning("database %s is locked by another process (%s): %d listings kept, retry %d of %d in "
                           "%.0fs", self.db_path, exc, count, self.failures, self.retries, pause)
            return
        what = {"locked": f"still locked after {self.retries} retries", "disk_full": "the disk is full"}.get(kind, exc)
        logger.error("cannot write to database %s (%s): %d listings not stored; stopping the crawl — rerun with "
                     "--resume once fixed", self.db_path, what, count)
        self.stop("disk_full" if kind == "disk_full" else "store_failed")

    def stop(self, reason: str) -> None:
        """Close the spider cleanly: requests in flight finish, the frontier keeps the rest."""
        if self.stopping is None:
            self.stopping = reason
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def close_spider(self):
        attempts = 0
        while not self.flush() and self.stopping is None and attempts < self.retries:
            attempts += 1            # still locked: each attempt waits up to the busy timeout
        if self.buffer:
            self.crawler.stats.set_value("sweep/store/unsaved", len(self.buffer))
            logger.error("%d listings were not stored in %s; rerun with --resume to fetch them again",
                         len(self.buffer), self.db_path)
            self.crawler.signals.send_catch_log(signal=commit_failed, items=self.buffer)
        if not self.own_run:
            self.store.db.close()

    def finish_own_run(self, spider, reason):
        """A bare ``scrapy crawl``'s run, recorded like a cycle's: summary per platform and monitors."""
        stats = self.crawler.stats.get_stats()
        name = spider.profile.name
        summary = summarise({**stats, "finish_reason": reason})
        monitors = {name: stats.get("sweep/monitors", [])}
        failed = bool(self.buffer) or reason != "finished" or any(r["status"] in ("FAIL", "ERROR")
                                                                  for r in monitors[name])
        try:
            self.store.record_monitors(self.run_id, monitors)
            self.store.finish_run(self.run_id, "failed" if failed else "ok", {"platforms": {name: summary}})
        except sqlite3.Error as exc:
            logger.error("could not record the end of run %s: %s", self.run_id, exc)
        self.store.db.close()
