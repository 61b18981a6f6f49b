"""The crawl's stats collector: Scrapy's in-memory one, minus Scrapy 2.19's per-access shim."""
from __future__ import annotations

from scrapy import Spider
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.run import crawl_settings
from crawler.stats import StatsCollector


class _Spider(Spider):
    name = "probe"


def test_crawls_count_with_scrapys_collector_minus_its_deprecation_shim():
    assert crawl_settings("sweep.db").get("STATS_CLASS") == "crawler.stats.StatsCollector"
    stats = get_crawler(_Spider, {"STATS_CLASS": "crawler.stats.StatsCollector"}).stats
    assert isinstance(stats, StatsCollector) and isinstance(stats, MemoryStatsCollector)
    stats.inc_value("sweep/stored", 3)
    stats.inc_value("sweep/stored")
    stats.max_value("peak", 5)
    stats.max_value("peak", 2)
    stats.set_value("finish_reason", "finished")
    assert stats.get_stats() == {"sweep/stored": 4, "peak": 5, "finish_reason": "finished"}
