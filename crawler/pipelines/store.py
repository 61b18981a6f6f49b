"""Write finished listings to SQLite in batched transactions (whole listings or nothing).

After each commit the batch is announced (``items_committed``), so the scheduler acknowledges
the requests the listings came from only once they are safe (crawler/scheduler/tracking.py).

A write that fails is rolled back whole and its listings are kept:

- the database is locked by another process (longer than SWEEP_STORE_BUSY_TIMEOUT): a warning,
  ``sweep/store/locked``, and retries with growing pauses, at most SWEEP_STORE_RETRIES times
  (store/retry.py) — at a later item while the crawl runs, in place when the spider closes;
- the disk is full (``sweep/store/disk_full``), or the write fails otherwise, or the lock
  outlasts the retries: an error, and the crawl stops cleanly. What could not be stored is
  announced (``commit_failed``, ``sweep/store/unsaved``): its requests stay in the frontier and
  ``--resume`` fetches them again.

`sweep ingest` runs this same stage without a spider: it opens the runs, sets ``run_id`` and calls
:meth:`StorePipeline.commit` once per Redis batch under the same retry policy.

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

from common.clock import shifted

from store.db import open_db
from store.listings import Store
from store.retry import LockedRetry, WriteFailed

from ..stats import summarise

from ..items import Listing
from ..scheduler.tracking import commit_failed, items_committed

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, db_path: str, run_id: int | None, batch_size: int, crawler, busy_timeout: float = 30.0,
                 retries: int = 5):
        self.db_path = db_path
        self.run_id = run_id
        # Outside a crawl (a crawler without a spider: `sweep ingest`) the caller opens runs and sets run_id.
        self.own_run = run_id is None and crawler.spider is not None
        self.batch_size = batch_size
        self.clock = shifted(crawler.settings.getfloat("SWEEP_CLOCK_OFFSET"))    # `--now`: runs, state changes
        self.crawler = crawler
        self.busy_timeout = busy_timeout
        self.buffer: list[Listing] = []
        self.store: Store | None = None
        self.retry = LockedRetry(db_path, busy_timeout, retries, crawler.stats)
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
        self.store = Store(open_db(self.db_path), self.clock)
        if self.crawler.spider is not None:      # `sweep ingest` registers the platforms its listings name
            self.store.register_platforms([self.crawler.spider.profile])
        self.store.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        if self.own_run:
            self.run_id = self.store.start_run([self.crawler.spider.profile.name])

    def process_item(self, item: Listing):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size and not self.stopping and time.monotonic() >= self.retry_at:
            self.flush()
        return item

    def commit(self) -> None:
        """Write the buffer in one transaction and announce it; raises sqlite3.Error with the buffer kept."""
        batch = self.buffer
        self.store.write_batch(batch, self.run_id)
        self.buffer = []
        self.crawler.stats.inc_value("sweep/stored", len(batch))
        self.crawler.signals.send_catch_log(signal=items_committed, items=batch)

    def flush(self) -> bool:
        """Commit without blocking the crawl: a locked database is retried at a later item (``retry_at``)."""
        if not self.buffer:
            return True
        try:
            self.commit()
        except sqlite3.Error as exc:
            try:
                self.retry_at = time.monotonic() + self.retry.failed(exc, f"{len(self.buffer)} listings kept")
            except WriteFailed as failed:
                self._give_up(failed)
            return False
        self.retry.succeeded()
        return True

    def _give_up(self, failed: WriteFailed) -> None:
        logger.error("%s: %d listings not stored; stopping the crawl — rerun with --resume once fixed", failed,
                     len(self.buffer))
        self.stop("disk_full" if failed.kind == "disk_full" else "store_failed")

    def stop(self, reason: str) -> None:
        """Close the spider cleanly: requests in flight finish, the frontier keeps the rest."""
        if self.stopping is None:
            self.stopping = reason
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def close_spider(self):
        if self.buffer and self.stopping is None:
            # No later item to retry at: wait the pauses out here, as many as a crawl would.
            try:
                self.retry.call(self.commit, f"{len(self.buffer)} listings kept")
            except WriteFailed as failed:
                logger.error("%s: %d listings not stored", failed, len(self.buffer))
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
