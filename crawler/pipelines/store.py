"""Write finished listings to SQLite in batched transactions (whole listings or nothing).

Settings read: SWEEP_DB, SWEEP_RUN_ID (a bare ``scrapy crawl`` opens and closes its own run),
SWEEP_STORE_BATCH.
"""
from __future__ import annotations

from scrapy.exceptions import NotConfigured

from takedown.db import open_db
from takedown.store import Store

from ..items import Listing


class StorePipeline:
    def __init__(self, db_path: str, run_id: int | None, batch_size: int, crawler):
        self.db_path = db_path
        self.run_id = run_id
        self.own_run = run_id is None
        self.batch_size = batch_size
        self.crawler = crawler
        self.buffer: list[Listing] = []
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("SWEEP_DB"):
            raise NotConfigured("SWEEP_DB is not set")
        run_id = s.getint("SWEEP_RUN_ID") or None
        return cls(s.get("SWEEP_DB"), run_id, s.getint("SWEEP_STORE_BATCH"), crawler)

    def open_spider(self):
        self.store = Store(open_db(self.db_path))
        self.store.register_platforms([self.crawler.spider.profile])
        if self.own_run:
            self.run_id = self.store.start_run([self.crawler.spider.profile.name])

    def process_item(self, item: Listing):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        self.store.write_batch(batch, self.run_id)
        self.crawler.stats.inc_value("sweep/stored", len(batch))

    def close_spider(self):
        self.flush()
        if self.own_run:
            stats = {k: v for k, v in self.crawler.stats.get_stats().items() if isinstance(v, (int, float))}
            self.store.finish_run(self.run_id, "ok", stats)
        self.store.db.close()
