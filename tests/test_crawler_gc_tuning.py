"""The crawl process's garbage-collector tuning: on while spiders run, undone after the last."""
from __future__ import annotations

import gc
import json
import sqlite3

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.gc_tuning import GcTuning


class _Spider(Spider):
    name = "probe"


def _crawler(**settings):
    """An extension as Scrapy builds it, with its crawler's stats."""
    crawler = get_crawler(_Spider, {"SWEEP_GC_FREEZE": True, "SWEEP_GC_THRESHOLD": 50000, **settings})
    crawler.ext = GcTuning.from_crawler(crawler)
    return crawler


def _send(crawler, signal):
    handler = {signals.spider_opened: crawler.ext.opened, signals.spider_closed: crawler.ext.closed}[signal]
    handler(_Spider())


def test_heap_frozen_and_young_generation_relaxed_until_the_last_spider_closes():
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    first, second = _crawler(), _crawler()
    _send(first, signals.spider_opened)
    assert gc.get_threshold() == (50000, *before[1:])
    frozen = gc.get_freeze_count()
    assert frozen > 10000                       # the test process's modules, at least
    _send(second, signals.spider_opened)
    _send(first, signals.spider_closed)         # one platform done, the other still crawling
    assert gc.get_threshold()[0] == 50000 and gc.get_freeze_count() >= frozen
    garbage = [[]]
    garbage[0].append(garbage)                  # a cycle made while spiders ran
    del garbage
    _send(second, signals.spider_closed)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert first.stats.get_value("sweep/gc/frozen_objects") >= frozen     # (frozen objects can still be freed)
    assert {f"sweep/gc/collections/{g}" for g in range(3)} <= set(second.stats.get_stats())
    assert gc.collect() >= 1                    # collected normally again once unfrozen


def test_off_when_neither_setting_asks_for_it():
    crawler = get_crawler(_Spider, {"SWEEP_GC_FREEZE": False, "SWEEP_GC_THRESHOLD": 0})
    with pytest.raises(NotConfigured):
        GcTuning.from_crawler(crawler)


def test_threshold_alone_leaves_the_heap_unfrozen():
    before = gc.get_threshold()
    crawler = _crawler(SWEEP_GC_FREEZE=False, SWEEP_GC_THRESHOLD=20000)
    _send(crawler, signals.spider_opened)
    assert gc.get_threshold()[0] == 20000 and gc.get_freeze_count() == 0
    _send(crawler, signals.spider_closed)
    assert gc.get_threshold() == before


def test_every_platform_of_a_real_crawl_ran_with_the_heap_frozen(crawled_db):
    stats = json.loads(sqlite3.connect(crawled_db).execute("SELECT stats FROM crawl_runs").fetchone()[0])
    for name, platform in stats["platforms"].items():
        assert platform["sweep/gc/frozen_objects"] > 50000, name
        assert platform["sweep/gc/collections/0"] < platform["pages"], name     # not every 700 allocations
