"""Keep CPython's garbage collector off the crawl's hot path.

When its spiders open, a crawl process holds ~200k long-lived objects (Scrapy, Twisted, lxml,
sqlite-utils, Spidermon, the profiles). Every full collection walks all of them, and a young
collection runs every 700 net allocations; measured on a sandbox crawl that was ~20 % of the
crawl process's CPU (0.72 s of 3.5 s; bare Scrapy, with 85k objects: ~7 %). So once a spider
opens, the heap built so far is frozen (gc.freeze: never scanned again) and the young generation
is collected less often. Both are undone when the process's last spider closes, and what was
frozen is then collected normally: nothing is kept alive by this, only looked at less.

Stats: ``sweep/gc/frozen_objects`` (when the spider opened), ``sweep/gc/collections/<generation>`` (while
it ran), so a run's record shows what the collector did.
Settings read: SWEEP_GC_FREEZE (bool), SWEEP_GC_THRESHOLD (generation-0 threshold; 0 keeps CPython's).
"""
from __future__ import annotations

import gc

from scrapy import signals
from scrapy.exceptions import NotConfigured


class GcTuning:
    open_spiders = 0                 # over every crawler in this process: one heap, one collector
    saved_threshold: tuple | None = None
    frozen = False

    def __init__(self, freeze: bool, threshold: int, stats):
        self.freeze = freeze
        self.threshold = threshold
        self.stats = stats
        self.collections_at_open: list[int] = []

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        freeze, threshold = s.getbool("SWEEP_GC_FREEZE"), s.getint("SWEEP_GC_THRESHOLD")
        if not freeze and not threshold:
            raise NotConfigured
        ext = cls(freeze, threshold, crawler.stats)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider):
        if GcTuning.open_spiders == 0 and self.threshold:
            GcTuning.saved_threshold = gc.get_threshold()
            gc.set_threshold(self.threshold, *GcTuning.saved_threshold[1:])
        GcTuning.open_spiders += 1
        if self.freeze:
            gc.freeze()              # cumulative: each opening spider adds what it built
            GcTuning.frozen = True
        self.stats.set_value("sweep/gc/frozen_objects", gc.get_freeze_count())
        self.collections_at_open = [g["collections"] for g in gc.get_stats()]

    def closed(self, spider):
        for generation, (now, then) in enumerate(zip((g["collections"] for g in gc.get_stats()),
                                                     self.collections_at_open)):
            self.stats.set_value(f"sweep/gc/collections/{generation}", now - then)
        GcTuning.open_spiders -= 1
        if GcTuning.open_spiders > 0:
            return
        if GcTuning.frozen:
            gc.unfreeze()
            GcTuning.frozen = False
        if GcTuning.saved_threshold is not None:
            gc.set_threshold(*GcTuning.saved_threshold)
            GcTuning.saved_threshold = None
