"""Same listing seen again: only last_seen changes. Changed content: a new version."""
from __future__ import annotations

from scrapy.exceptions import DropItem, NotConfigured

from common.clock import SYSTEM, shifted

from store.db import open_db
from store.listings import Store

from ..items import Listing


class DedupePipeline:
    """Settings read: SWEEP_DB."""

    def __init__(self, db_path: str, stats, clock=SYSTEM):
        self.db_path = db_path
        self.clock = clock
        self.stats = stats
        self.store: Store | None = None
        self.this_run: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("SWEEP_DB")
        if not path:
            raise NotConfigured("SWEEP_DB is not set")
        return cls(path, crawler.stats, shifted(crawler.settings.getfloat("SWEEP_CLOCK_OFFSET")))

    def open_spider(self):
        self.store = Store(open_db(self.db_path), self.clock)

    def close_spider(self):
        self.store.db.close()

    def process_item(self, item: Listing):
        if item.id in self.this_run:     # reached twice in one crawl (two searches, two URLs)
            self.stats.inc_value("sweep/items_duplicate")
            raise DropItem(f"{item.id} already handled in this crawl")
        self.this_run.add(item.id)
        known = self.store.known(item.id)
        if known is None:
            item.status, item.version = "new", 1
        elif known[0] == item.content_hash:
            item.status, item.version = "seen", known[1]
        else:
            item.status, item.version = "changed", known[1] + 1
        self.stats.inc_value(f"sweep/items_{item.status}")
        return item
