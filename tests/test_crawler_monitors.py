"""Spidermon monitors per platform: each check on its own (the suite run on given stats), then
real crawls of the sandbox with broken profiles — a failing check makes `sweep run` exit non-zero
naming the platform and the check, and is stored with the run."""
from __future__ import annotations

import sqlite3

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler
from spidermon.runners import MonitorRunner

from crawler.monitors import PlatformMonitorSuite
from crawler.profile import parse_profile
from tests.helpers import sweep
from tests.fixtures_ops import bundled_profile, write_profile

DEFAULTS = {"SWEEP_MONITOR_MIN_LISTINGS": 1, "SWEEP_MONITOR_MAX_VALIDATION_ERRORS": 0,
            "SWEEP_MONITOR_MAX_ERROR_RATIO": 0.1, "SWEEP_MONITOR_MAX_RETRY_RATIO": 0.25,
            "SWEEP_MONITOR_MAX_SPIDER_ERRORS": 0, "SWEEP_MONITOR_MAX_EMPTY_DESCRIPTION_RATIO": 0.5,
            "SWEEP_MONITOR_MAX_UNRENDERED_RATIO": 0.1,
            "SPIDERMON_EXPECTED_FINISH_REASONS": ["finished"]}
HEALTHY = {"finish_reason": "finished", "sweep/stored": 40, "downloader/request_count": 100,
           "sweep/market/seeds/search": 5, "sweep/market/seeds_with_links/search": 1,
           "sweep/market/seeds/pages": 2, "sweep/market/seeds_with_links/pages": 2,
           "sweep/market/empty_descriptions": 6, "sweep/market/needs_browser": 12, "sweep/market/unrendered": 1}


class _Spider(Spider):
    name = "probe"


def check(stats: dict, monitors: dict | None = None, **settings) -> dict[str, dict]:
    """Run the platform suite on ``stats``; {check: {status, message}}."""
    data = bundled_profile("marketplace")
    data["name"] = "market"
    if monitors:
        data["monitors"] = monitors
    crawler = get_crawler(_Spider, {**DEFAULTS, **settings})
    spider = _Spider()
    spider.profile = parse_profile(data, "market.yaml")
    crawler.stats._stats = dict(stats)
    MonitorRunner().run(PlatformMonitorSuite(crawler=crawler), stats=crawler.stats.get_stats(), crawler=crawler,
                        spider=spider)
    return {row["monitor"]: row for row in crawler.stats.get_value("sweep/monitors")}


def failed(results: dict) -> set[str]:
    return {name for name, row in results.items() if row["status"] != "OK"}


def test_a_healthy_crawl_passes_every_check():
    results = check(HEALTHY)
    assert set(results) == {"finish_reason", "min_listings", "item_validation", "error_ratio", "retry_ratio",
                            "spider_errors", "empty_descriptions", "unrendered", "empty_seeds"}
    assert failed(results) == set()
    assert results["empty_seeds"]["message"] == ("1 of 5 search pages had listings; "
                                                   "2 of 2 category/board pages had listings")


def test_extraction_that_raised_fails_the_platform_even_when_listings_still_arrive():
    broken = {**HEALTHY, "spider_exceptions/count": 12, "spider_exceptions/CannotDropElementWithoutParent": 12}
    results = check(broken)
    assert failed(results) == {"spider_errors"}
    assert "12 pages raised in extraction" in results["spider_errors"]["message"]
    assert "CannotDropElementWithoutParent ×12" in results["spider_errors"]["message"]
    assert "spider_errors" not in failed(check(broken, monitors={"max_spider_errors": 20}))


def test_one_empty_search_is_normal_but_all_empty_is_a_broken_profile():
    results = check({**HEALTHY, "sweep/market/seeds_with_links/search": 0})
    assert failed(results) == {"empty_seeds"}
    assert "all 5 search pages came back without a listing link" in results["empty_seeds"]["message"]
    assert "market.yaml" in results["empty_seeds"]["message"]


@pytest.mark.parametrize("change, check_name, words", [
    ({"sweep/stored": 0}, "min_listings", "only 0 listings stored"),
    ({"finish_reason": "shutdown"}, "finish_reason", "shutdown"),
    ({"spidermon/validation/fields/errors": 3, "spidermon/validation/items": 40,
      "spidermon/validation/fields/errors/field_too_short/title": 3}, "item_validation", "title (field too short): 3"),
    ({"sweep/items_invalid": 2}, "item_validation", "2 dropped as invalid"),
    ({"sweep/market/request_errors": 11}, "error_ratio", "11 of 100 requests failed"),
    ({"retry/count": 30}, "retry_ratio", "30 retries for 100 requests"),
    ({"sweep/market/empty_descriptions": 21}, "empty_descriptions", "21 of 40 listings have no description"),
    ({"sweep/market/unrendered": 2}, "unrendered", "2 of 12 pages that need the browser were stored without it"),
])
def test_each_check_fails_on_its_own(change, check_name, words):
    results = check({**HEALTHY, **change})
    assert failed(results) == {check_name}
    assert words in results[check_name]["message"]


def test_a_request_retried_and_then_failed_counts_once_in_the_error_ratio():
    # 25 requests, every one tried 4 times and refused: all of them failed, not a quarter.
    down = {**HEALTHY, "downloader/request_count": 100, "retry/count": 75, "sweep/market/request_errors": 25}
    results = check(down)
    assert {"error_ratio", "retry_ratio"} <= failed(results)
    assert "25 of 25 requests failed (100%" in results["error_ratio"]["message"]


def test_thresholds_come_from_settings_and_a_profile_overrides_them():
    many_errors = {**HEALTHY, "sweep/market/request_errors": 30}
    assert "error_ratio" in failed(check(many_errors))
    assert "error_ratio" not in failed(check(many_errors, SWEEP_MONITOR_MAX_ERROR_RATIO=0.5))
    assert "error_ratio" not in failed(check(many_errors, monitors={"max_error_ratio": 0.4}))
    assert "min_listings" in failed(check(HEALTHY, monitors={"min_listings": 41}))
    assert "min_listings" in failed(check(HEALTHY, SWEEP_MONITOR_MIN_LISTINGS=100))


def test_session_crawl_stored_every_check_passing(crawled_db):
    con = sqlite3.connect(crawled_db)
    rows = con.execute("SELECT platform, monitor, status FROM monitor_results").fetchall()
    platforms = {p for p, _, _ in rows}
    assert {"marketplace", "appstore", "forum"} <= platforms
    assert {s for _, _, s in rows} == {"OK"} and len(rows) == 9 * len(platforms)


def test_broken_profiles_fail_the_run_naming_platform_and_check(sandbox, model_path, tmp_path):
    """Three copies of the marketplace profile, each broken the way a platform redesign breaks one."""
    profiles = tmp_path / "broken"
    profiles.mkdir()
    base = bundled_profile("marketplace")
    base["listing"].pop("browser")                       # no Chromium needed for these checks
    base["seeds"] = {"search": ["/search?q={keyword}"], "pages": ["/category/pets"]}
    base["list"]["max_pages"] = 1
    searches_nothing = {**base, "name": "market_search",
                        "seeds": {**base["seeds"], "search": ["/search?q=zq{keyword}"]}}
    no_titles = {**base, "name": "market_title",
                 "listing": {**base["listing"], "fields": {**base["listing"]["fields"], "title": "css:h1.gone::text"}}}
    no_links = {**base, "name": "market_links", "list": {**base["list"], "links": "css:div.gone a::attr(href)"}}
    for profile in (searches_nothing, no_titles, no_links):
        write_profile(profiles, profile)
    db = tmp_path / "broken.db"
    url = sandbox.urls["marketplace"]
    proc = sweep("run", "--db", str(db), "--profiles", str(profiles), "--keywords", "猫池,呼死你",
                 *[a for n in ("market_search", "market_title", "market_links") for a in ("--base-url", f"{n}={url}")],
                 check=False)
    assert proc.returncode != 0
    for line in ("market_search: monitor empty_seeds failed: all 2 search pages came back without a listing link",
                 "market_title: monitor item_validation failed:",
                 "market_links: monitor min_listings failed: only 0 listings stored",
                 "market_links: monitor empty_seeds failed: all 2 search pages"):
        assert line in proc.stderr, line
    con = sqlite3.connect(db)
    status = {(p, m): s for p, m, s in con.execute("SELECT platform, monitor, status FROM monitor_results")}
    assert status[("market_search", "empty_seeds")] == "FAIL" and status[("market_search", "min_listings")] == "OK"
    assert status[("market_title", "item_validation")] == "FAIL" and status[("market_title", "empty_seeds")] == "OK"
    assert status[("market_links", "min_listings")] == "FAIL"
    assert con.execute("SELECT outcome FROM crawl_runs").fetchone()[0] == "failed"
    shown = sweep("runs", "--db", str(db)).stdout
    assert "failed" in shown and "market_title item_validation:" in shown and "title" in shown
