"""Golden fixtures: saved sandbox pages and what each profile must extract from them.

Re-record with `python -m tests.record_fixtures` when the sandbox pages change on purpose.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.extract import ListingPage, ListPage
from crawler.profile import load_profiles

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
PROFILES = {p.name: p for p in load_profiles()}


def response_for(url: str, body: bytes, content_type: str):
    cls = TextResponse if "json" in content_type else HtmlResponse
    return cls(url=url, body=body, headers={"Content-Type": content_type})


def extract(profile_name: str, url: str, body: bytes, content_type: str) -> dict:
    """Everything the profile reads from one page, as plain JSON."""
    profile = PROFILES[profile_name]
    response = response_for(url, body, content_type)
    out = {"list_links": ListPage.from_response(response, profile).listing_links(),
           "list_next": ListPage.from_response(response, profile).next_links()}
    page = ListingPage.from_response(response, profile)
    out["needs_browser"] = page.needs_browser()
    listing = page.to_listing()
    if listing is not None:
        data = asdict(listing)
        for volatile in ("crawled_at", "status", "version", "classification", "content_hash"):
            data.pop(volatile)
        out["listing"] = data
    out["thread_next"] = page.next_links()
    return out


CASES = sorted(p.with_suffix("") for p in FIXTURES.glob("*/*.json"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden_extraction(case: Path):
    meta = json.loads(case.with_suffix(".json").read_text(encoding="utf-8"))
    body = case.with_suffix(".body").read_bytes()
    assert extract(case.parent.name, meta["url"], body, meta["content_type"]) == meta["expected"]


def test_fixtures_cover_every_profile():
    assert {c.parent.name for c in CASES} == set(PROFILES)


def test_forum_fixture_is_gbk_and_quotes_are_stripped():
    meta = json.loads((FIXTURES / "forum" / "thread.json").read_text(encoding="utf-8"))
    body = (FIXTURES / "forum" / "thread.body").read_bytes()
    assert "gbk" in meta["content_type"]
    listing = meta["expected"]["listing"]
    assert listing["title"] and listing["description"]
    assert body.decode("gbk")          # really GBK bytes on disk
    quoted = body.decode("gbk").count('class="quote"')
    assert quoted >= 1
    assert not any("发表于" in reply for reply in listing["extra"]["replies"])


def test_js_fixture_needs_the_browser():
    meta = json.loads((FIXTURES / "marketplace" / "item_js.json").read_text(encoding="utf-8"))
    assert meta["expected"]["needs_browser"] is True
    assert meta["expected"]["listing"]["description"] == "描述加载中…"
