"""Politeness, watched from the server side of real crawls: robots.txt, a User-Agent naming Sweep
and the contact from the config, per-platform concurrency and delay, and 429/503 retried only
after the platform's Retry-After (or a backoff)."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

import crawler.middlewares.retry_after as retry_after
from crawler.middlewares.retry_after import RetryAfterMiddleware, parse_retry_after
from crawler.profile import ProfileError, parse_profile
from sandbox.process import SandboxProcess
from tests.conftest import SEED
from tests.helpers import sweep
from tests.fixtures_ops import bundled_profile, probe_profile, write_profile

CONTACT = "tns-team@example.net"


def test_retry_after_header_forms():
    assert parse_retry_after(b"7") == 7.0
    later = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert parse_retry_after(format_datetime(later, usegmt=True), now=later.timestamp() - 30) == pytest.approx(30)
    assert parse_retry_after(format_datetime(later - timedelta(hours=1), usegmt=True), now=later.timestamp()) == 0
    assert parse_retry_after(b"soon") is None and parse_retry_after(None) is None


def test_a_profile_cannot_switch_robots_txt_off():
    for data in ({"robotstxt_obey": False}, {"politeness": {"obey_robots": False, "concurrency": 2}}):
        profile = {**bundled_profile("marketplace"), **data}
        with pytest.raises(ProfileError, match="robots.txt is always obeyed"):
            parse_profile(profile, "sneaky.yaml")


class _Spider(Spider):
    name = "probe"


def test_a_429_pauses_the_whole_platform_until_retry_after():
    crawler = get_crawler(_Spider, {"SWEEP_RETRY_AFTER_CODES": [429, 503], "SWEEP_RETRY_AFTER_TIMES": 2,
                                    "SWEEP_RETRY_AFTER_MAX": 60, "SWEEP_BACKOFF_BASE": 1, "SWEEP_BACKOFF_MAX": 8})
    crawler.spider = _Spider.from_crawler(crawler)
    mw = RetryAfterMiddleware.from_crawler(crawler)
    now = [1000.0]
    mw.clock = lambda: now[0]
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    first = Request("http://127.0.0.1/a", meta={"download_slot": "shop"})
    retry = mw.process_response(first, Response(first.url, status=429, headers={"Retry-After": "20"}))
    assert retry.url == first.url and retry.meta["retry_times"] == 1
    other = Request("http://127.0.0.1/b", meta={"download_slot": "shop"})
    elsewhere = Request("http://127.0.0.1/c", meta={"download_slot": "forum"})
    original, retry_after._sleep = retry_after._sleep, sleep
    try:
        now[0] += 5
        asyncio.run(mw.process_request(other))           # the same platform waits out the rest
        asyncio.run(mw.process_request(elsewhere))       # another platform does not
    finally:
        retry_after._sleep = original
    assert slept == [pytest.approx(15)]
    now[0] += 20                                                                   # that pause is over
    twice = mw.process_response(retry, Response(first.url, status=503))            # no header: backoff
    assert mw.paused_until["shop"] - now[0] == pytest.approx(2, rel=0.25)          # base * 2**1, ±20%
    assert mw.process_response(twice, Response(first.url, status=429)).status == 429   # retries used up
    assert mw.process_response(first, Response(first.url, status=429, headers={"Retry-After": "3600"})).status == 429


def test_crawl_is_polite_as_seen_by_the_platform(probe_site, probe_profiles, write_config, model_path, tmp_path,
                                                monkeypatch):
    probe_site.delay = 0.1
    probe_site.links = [*(f"/item/{n}" for n in range(1, 7)), "/private/7", "/limited/8", "/busy/9",
                        "/toolong/10"]
    write_profile(probe_profiles, probe_profile(probe_site.url, politeness={"download_delay": 0.2, "concurrency": 2},
                                                monitors={"max_error_ratio": 0.5, "max_retry_ratio": 1}))
    config = write_config(f'[crawl]\ncontact = "{CONTACT}"\n', mode=0o644)    # no secrets: any mode will do
    monkeypatch.setenv("SWEEP_CONFIG", str(config))
    db = tmp_path / "polite.db"
    sweep("crawl", "--db", str(db), "--profiles", str(probe_profiles))
    hits = probe_site.hits
    assert all("Sweep/" in h["ua"] and CONTACT in h["ua"] for h in hits)
    assert probe_site.paths("/robots.txt") == ["/robots.txt"] and probe_site.paths("/private/") == []
    times = {path: [h["at"] for h in hits if h["path"].startswith(path)] for path in ("/limited/", "/busy/")}
    assert len(times["/limited/"]) == 2 and times["/limited/"][1] - times["/limited/"][0] >= 1.0   # Retry-After: 1
    assert len(times["/busy/"]) == 2 and times["/busy/"][1] - times["/busy/"][0] >= 0.8            # backoff 1s ±20%
    assert probe_site.paths("/toolong/") == ["/toolong/10"]          # asked for a day: not asked again
    assert max(h["inflight"] for h in hits) <= 2                     # the profile's concurrency
    listed = [h["at"] for h in hits if h["path"] != "/robots.txt"]
    # its delay (Scrapy randomises 0.5-1.5x)
    assert min(b - a for a, b in zip(listed, listed[1:])) >= 0.2 * 0.5 * 0.9
    stored = {r[0] for r in sqlite3.connect(db).execute("SELECT platform_id FROM listings")}
    assert stored == {"1", "2", "3", "4", "5", "6", "8", "9"}


KEYWORDS = "猫池,呼死你,短信,改号,轰炸"


def test_sandbox_rate_limit_is_waited_out_without_losing_listings(model_path, small_profiles, catalogue, tmp_path):
    from sandbox.web import matches

    expected = {r.key for r in catalogue.apps.values()
                for q in KEYWORDS.split(",") if matches(q, r.title, r.description)}
    with SandboxProcess(seed=SEED, rate_limit=5) as limited:            # 5 requests/s, then 429 + Retry-After
        db = tmp_path / "limited.db"
        proc = sweep("crawl", "--db", str(db), "--profiles", str(small_profiles), "--keywords", KEYWORDS,
                     "--base-url", f"appstore={limited.urls['appstore']}", check=False)
    con = sqlite3.connect(db)
    stats = json.loads(con.execute("SELECT stats FROM crawl_runs").fetchone()[0])["platforms"]["appstore"]
    assert stats.get("sweep/retry_after/429", 0) > 0, "the sandbox never limited the crawl"
    assert {r[0] for r in con.execute("SELECT id FROM listings")} == expected, proc.stderr[-3000:]   # none lost
    assert proc.returncode == 0, proc.stderr[-3000:]                   # and no monitor saw too many retries
