"""Golden fixtures: saved sandbox pages and what each profile must extract from them.

Re-record with `python -m tests.record_fixtures` when the sandbox pages change on purpose.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.extract import ListingPage, ListPage, Page, _lines
from crawler.profile import load_profiles

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
PROFILES = {p.name: p for p in load_profiles()}


def response_for(url: str, body: bytes, content_type: str, link: str | None = None):
    cls = TextResponse if "json" in content_type else HtmlResponse
    return cls(url=url, body=body, headers={"Content-Type": content_type, **({"Link": link} if link else {})})


def extract(profile_name: str, url: str, body: bytes, content_type: str, link: str | None = None) -> dict:
    """Everything the profile reads from one page, as plain JSON (``link``: the response's Link header)."""
    profile = PROFILES[profile_name]
    response = response_for(url, body, content_type, link)
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
    assert extract(case.parent.name, meta["url"], body, meta["content_type"], meta.get("link")) == meta["expected"]


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


def test_line_breaks_the_page_shows_are_kept_and_source_newlines_fold():
    """<br> is a line the reviewer should see (two, a blank line); a newline in HTML source is only a space."""
    body = ('<html><body><div class="item-detail"><h1 class="item-title">二手\n  台灯</h1>'
            '<div id="desc" class="item-desc">第一行\n   还是第一行<br>第二行<br/><br>  第三行 <br></div>'
            '</div></body></html>').encode()
    got = extract("marketplace", "http://127.0.0.1:8701/item/42", body, "text/html; charset=utf-8")["listing"]
    assert got["title"] == "二手 台灯"
    assert got["description"] == "第一行 还是第一行\n第二行\n\n第三行"        # a blank line stays one


@pytest.mark.parametrize("spec, expected", [
    ("header:Link[rel=next]", ["http://h/api?q=a&page=3"]),
    ("header:Link[rel=last]", ["http://h/api?q=a&page=9"]),
    ("header:Link[rel=prev]", []),
    ("header:X-Total", ["180"]),
    ("header:x-missing", []),
])
def test_header_selectors_read_the_response_headers_and_link_rels(spec, expected):
    link = '<http://h/api?q=a&page=3>; rel="next", <http://h/api?q=a&page=9>; rel="last"'
    response = TextResponse(url="http://h/api?q=a&page=2", body=b'{"items": []}',
                            headers={"Content-Type": "application/json", "Link": link, "X-Total": "180"})
    assert ListPage.from_response(response, PROFILES["codehost"]).values(spec) == expected


def test_newlines_inside_json_text_are_kept():
    page = Page("http://127.0.0.1/api", json.dumps({"d": "上行\n\n  下行 "}), PROFILES["appstore"], "application/json")
    assert _lines(" ".join(page.values("jmes:d"))) == "上行\n\n下行"
