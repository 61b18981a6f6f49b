"""A one-line progress report per platform while a crawl runs (Scrapy's LogStats is per minute)."""
from __future__ import annotations

import sys

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class Progress:
    """Settings read: SWEEP_PROGRESS_INTERVAL (seconds; 0 turns it off)."""

    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("SWEEP_PROGRESS_INTERVAL")
        if not interval:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider):
        self.loop = task.LoopingCall(self.report, spider)
        self.loop.start(self.interval, now=False)

    def closed(self, spider):
        if self.loop and self.loop.running:
            self.loop.stop()
        self.report(spider, final=True)

    def report(self, spider, final: bool = False):
        s = self.crawler.stats
        flagged = sum(v for k, v in s.get_stats().items() if k.startswith("sweep/flagged/"))
        print(f"  {'done ' if final else ''}[{spider.profile.name}] {s.get_value('response_received_count', 0)} pages, "
              f"{s.get_value('sweep/stored', 0)} listings stored, {flagged} flagged", file=sys.stderr, flush=True)
