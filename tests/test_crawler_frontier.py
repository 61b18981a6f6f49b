"""The durable frontier's parts on their own: the SQLite frontier file and the acknowledgement rule.

Real SQLite files; the tracker runs against Scrapy's real signal manager and real Requests.
Whole crawls killed and resumed are in test_crawler_resume.py.
"""
from __future__ import annotations

import sqlite3

import pytest
from scrapy import Request, signals
from scrapy.http import HtmlResponse
from scrapy.signalmanager import SignalManager

from crawler.items import Listing
from crawler.scheduler.frontier import Frontier, FrontierBusy, frontier_path
from crawler.scheduler.tracking import PARENT, AckTracker, Tracked, commit_failed, items_committed


# -- the frontier file ---------------------------------------------------------------------------
def test_frontier_lives_beside_the_database(tmp_path):
    assert frontier_path(tmp_path / "sweep.db") == tmp_path / "sweep.db-frontier"     # .gitignore, make clean


def test_a_request_and_its_fingerprint_are_stored_together(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    first = f.add("forum", b"request-1", 0, b"fp1")
    assert first is not None and f.get(first) == b"request-1"
    assert f.add("forum", b"request-1 again", 0, b"fp1") is None          # seen: not queued twice
    assert f.add("other", b"same url, other crawl", 0, b"fp1") is not None
    assert f.add("forum", b"dont_filter", 0, None) is not None             # no fingerprint: always queued
    assert f.pending_count("forum") == 2 and f.seen_count("forum") == 1


def test_a_write_that_fails_leaves_nothing_half_written(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    f.add("forum", b"x" * 100, 0, b"fp0")
    pages = f.conn.execute("PRAGMA page_count").fetchone()[0]
    f.conn.execute(f"PRAGMA max_page_count = {pages}")       # the file may not grow: SQLite's own SQLITE_FULL
    with pytest.raises(sqlite3.OperationalError, match="full"):
        f.add("forum", b"y" * 20000, 0, b"fp-big")
    assert not f.conn.in_transaction
    assert not f.is_seen("forum", b"fp-big")                 # never "seen" without being queued
    assert f.pending_count("forum") == 1


def test_batched_writes_are_durable_only_once_committed_and_in_order(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    parent = f.add("forum", b"parent", 0, b"fp")
    child = f.write("forum", b"child", 0, b"fc")
    f.forget([parent])                                        # acknowledged after the child was written
    assert f.get(child) == b"child" and f.batch_size == 2     # the crawl itself sees the open batch
    other = sqlite3.connect(tmp_path / "f.db")
    assert other.execute("SELECT request FROM requests").fetchall() == [(b"parent",)]   # a kill now: parent kept
    f.commit()
    assert other.execute("SELECT request FROM requests").fetchall() == [(b"child",)]
    assert f.batch_size == 0


def test_a_batch_that_fails_is_rolled_back_whole_and_its_requests_handed_back(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    lost = []
    f.on_rollback.append(lost.append)
    kept = f.add("forum", b"kept", 0, b"fk")
    first = f.write("forum", b"a" * 100, 0, b"fa")
    pages = f.conn.execute("PRAGMA page_count").fetchone()[0]
    f.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        f.write("forum", b"y" * 20000, 0, b"fy")
    assert lost == [{first: ("forum", b"a" * 100)}]           # the scheduler keeps these in memory
    assert not f.conn.in_transaction and f.batch_size == 0
    assert [r for r, in f.conn.execute("SELECT request FROM requests")] == [b"kept"] and kept
    assert not f.is_seen("forum", b"fa")


def test_resume_keeps_what_was_left_and_a_fresh_start_forgets_it(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    a = f.add("forum", b"a", 0, b"fa")
    f.add("forum", b"b", 5, b"fb")
    f.remove([a])
    assert f.begin("forum", 2, resume=True) == (1, 0)
    assert [p for _, p in f.pending("forum")] == [5] and f.is_seen("forum", b"fa")
    assert f.interrupted() == {"forum": {"pending": 1, "run_id": 2}}
    assert f.begin("forum", 3, resume=False) == (0, 1)
    assert f.pending_count("forum") == 0 and not f.is_seen("forum", b"fa")


def test_resuming_a_finished_crawl_starts_afresh(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    f.remove([f.add("forum", b"a", 0, b"fa")])
    assert f.begin("forum", 2, resume=True) == (0, 0)       # nothing left: the seen-set must not hide the seeds
    assert not f.is_seen("forum", b"fa")


def test_two_live_crawls_of_one_platform_cannot_share_a_frontier(tmp_path):
    import os

    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    f.conn.execute("UPDATE crawls SET pid = ? WHERE crawl = 'forum'", [os.getppid()])    # a live other process
    with pytest.raises(FrontierBusy, match="being crawled by process"):
        f.begin("forum", 2, resume=False)
    f.conn.execute("UPDATE crawls SET pid = 2147483000 WHERE crawl = 'forum'")          # a process that is gone
    assert f.begin("forum", 2, resume=True) == (0, 0)
    f.end("forum")
    assert f.conn.execute("SELECT pid FROM crawls").fetchone()[0] is None
    assert f.begin("forum", 3, resume=True) == (0, 0)         # ended cleanly: free for the next crawl


def test_complete_forgets_a_crawl_only_when_nothing_is_left(tmp_path):
    f = Frontier(tmp_path / "f.db")
    f.begin("forum", 1, resume=False)
    a = f.add("forum", b"a", 0, b"fa")
    assert not f.complete("forum") and f.is_seen("forum", b"fa")
    f.remove([a])
    assert f.complete("forum") and f.seen_count("forum") == 0


# -- the acknowledgement rule --------------------------------------------------------------------
class FakeSpider:
    name = "forum"

    def _parse(self, response):
        yield from ()


class FakeCrawler:
    def __init__(self):
        self.signals = SignalManager()
        self.spider = FakeSpider()


@pytest.fixture
def tracker():
    acked = []
    crawler = FakeCrawler()
    t = AckTracker(crawler, acked.extend)
    t.acked, t.crawler = acked, crawler
    return t


def listing(n: int) -> Listing:
    return Listing(f"forum:{n}", "forum", str(n), "forum", f"http://127.0.0.1/t/{n}", title=f"t{n}")


def response_for(request: Request) -> HtmlResponse:
    return HtmlResponse(request.url, body=b"<html></html>", request=request)


def run_callback(request):
    return list(request.callback(response_for(request)))


def test_a_request_is_acknowledged_after_its_children_are_stored_and_its_listings_committed(tracker):
    items = [listing(1), listing(2)]

    def parse(response):
        yield Request("http://127.0.0.1/next")
        yield from items

    request = tracker.track(Request("http://127.0.0.1/list", callback=parse), key=7)
    out = run_callback(request)
    assert tracker.acked == []                                 # the callback ended, nothing is safe yet
    child = out[0]
    assert child.meta[PARENT] == 7
    tracker.enqueued(*tracker.adopt(child))
    assert PARENT not in child.meta and tracker.acked == []
    tracker.crawler.signals.send_catch_log(items_committed, items=[items[0]])
    assert tracker.acked == []                                 # one listing still in the store's buffer
    tracker.crawler.signals.send_catch_log(signals.item_dropped, item=items[1], response=None, exception=None,
                                           spider=None)
    assert tracker.acked == [7]


def test_a_listing_that_failed_in_a_pipeline_keeps_its_request(tracker):
    item = listing(1)
    request = tracker.track(Request("http://127.0.0.1/t/1", callback=lambda r: [item]), key=1)
    run_callback(request)
    tracker.crawler.signals.send_catch_log(signals.item_error, item=item, response=None, failure=None, spider=None)
    assert tracker.acked == [] and tracker.settle_all() == 1


def test_a_failed_commit_stops_all_acknowledgements(tracker):
    first, second = listing(1), listing(2)
    r1 = tracker.track(Request("http://127.0.0.1/t/1", callback=lambda r: [first]), key=1)
    r2 = tracker.track(Request("http://127.0.0.1/t/2", callback=lambda r: [second]), key=2)
    run_callback(r1)
    run_callback(r2)
    tracker.crawler.signals.send_catch_log(commit_failed, items=[first])
    tracker.crawler.signals.send_catch_log(items_committed, items=[second])
    assert tracker.acked == [] and tracker.settle_all() == 2


def test_a_retry_acknowledges_the_request_it_replaces_once_stored(tracker):
    request = tracker.track(Request("http://127.0.0.1/t/1", callback=FakeSpider()._parse), key=3)
    retry = request.replace(dont_filter=True)          # what RetryMiddleware hands back: the callback never ran
    parent, replaced = tracker.adopt(retry)
    assert not isinstance(retry.callback, Tracked)     # stored without the tracker's wrapper
    assert tracker.acked == []
    tracker.enqueued(parent, replaced)
    assert tracker.acked == [3]


def test_a_child_kept_only_in_memory_keeps_its_parent(tracker):
    request = tracker.track(Request("http://127.0.0.1/list", callback=lambda r: [Request("http://127.0.0.1/x")]),
                            key=4)
    child = run_callback(request)[0]
    tracker.enqueued(*tracker.adopt(child), stored=False)
    assert tracker.acked == []


def test_a_callback_abandoned_half_way_is_not_acknowledged(tracker):
    def parse(response):
        yield Request("http://127.0.0.1/a")
        yield Request("http://127.0.0.1/b")

    request = tracker.track(Request("http://127.0.0.1/list", callback=parse), key=5)
    output = request.callback(response_for(request))
    tracker.enqueued(*tracker.adopt(next(output)))
    output.close()                                       # e.g. the spider closing mid-iteration
    assert tracker.acked == []


def test_an_errback_that_handles_the_failure_acknowledges(tracker):
    seen = []
    request = tracker.track(Request("http://127.0.0.1/t/1", callback=FakeSpider()._parse,
                                    errback=lambda failure: seen.append(failure)), key=6)
    assert request.errback("boom") is None
    assert seen == ["boom"] and tracker.acked == [6]


def test_without_an_errback_the_failure_still_reaches_scrapy(tracker):
    request = tracker.track(Request("http://127.0.0.1/t/1", callback=FakeSpider()._parse), key=8)
    assert request.errback("the failure") == "the failure"
    assert tracker.acked == [8]


def test_requests_are_serialised_exactly_as_scrapy_does():
    import scrapy

    from crawler.scheduler.durable import request_to_dict

    class Spider(scrapy.Spider):
        name = "forum"

        def parse_thread(self, response):
            yield from ()

        def on_error(self, failure):
            yield from ()

    spider = Spider()
    for request in (Request("http://127.0.0.1/a", callback=spider.parse_thread, errback=spider.on_error,
                            meta={"thread_page": 2}, priority=3),
                    Request("http://127.0.0.1/b"), Request("http://127.0.0.1/c", callback=spider.parse_thread),
                    scrapy.FormRequest("http://127.0.0.1/d", formdata={"q": "猫池"}, callback=spider.parse_thread)):
        assert request_to_dict(request, spider) == request.to_dict(spider=spider)
        assert request.callback is None or request.callback.__name__ == "parse_thread"    # left as it was
    with pytest.raises(ValueError):                                  # not a spider method: as Scrapy refuses it
        request_to_dict(Request("http://127.0.0.1/e", callback=lambda r: None), spider)
