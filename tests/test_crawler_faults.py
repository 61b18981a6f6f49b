"""Bad pages in a real crawl: each is one clear log line and one counted stat, nothing is stored
half-written, and the rest of the crawl goes on (crawler/middlewares/bad_content.py, redirect_loop.py).

One crawl of the marketplace covers every case: its seed is the fault sandbox's /faults/list page,
linking to each fault listing, to real listings, and (as next pages) to faulty list pages.
"""
from __future__ import annotations

import json
import sqlite3

import pytest

from sandbox import faults
from tests.fixtures_faults import fault_crawl

LISTING_FAULTS = ["malformed", "truncated", "cut-off", "huge", "huge-declared", "binary-png", "binary-zip",
                  "redirect-loop", "redirect-chain", "stall"]
LIST_FAULTS = ["truncated", "cut-off", "malformed"]
TIMEOUT = 3


@pytest.fixture(scope="module")
def crawl(fault_sandbox, tmp_path_factory):
    query = f"kinds={','.join(LISTING_FAULTS)}&lists={','.join(LIST_FAULTS)}&normal=3"
    return fault_crawl(tmp_path_factory.mktemp("faults"), fault_sandbox, "marketplace", query,
                       {"DOWNLOAD_TIMEOUT": TIMEOUT, "RETRY_TIMES": 1})


def fault_id(kind: str) -> str:
    return f"marketplace:{faults.fault_pid(kind)}"


def fault_url(sandbox, kind: str) -> str:
    return sandbox.urls["marketplace"] + faults.listing_path("marketplace", kind, faults.fault_pid(kind))


def assert_not_stored(crawl, listing_id: str):
    """Nothing of the listing anywhere: no row, no version, no search entry."""
    assert crawl.listing(listing_id) is None
    assert not crawl.rows("SELECT 1 FROM listing_versions WHERE listing_id = ?", listing_id)
    assert not crawl.rows("SELECT 1 FROM listing_fts WHERE listing_id = ?", listing_id)


def test_the_crawl_finishes_and_stores_whole_listings_only(crawl):
    assert crawl.returncode == 0 and crawl.stats["finish_reason"] == "finished"
    for crash in ("Spider error processing", "Error processing", "Unhandled error"):   # no callback or pipeline blew up
        assert not crawl.lines(crash), crawl.lines(crash)
    stored = crawl.rows("SELECT id, title, description FROM listings")
    assert crawl.stat("sweep/stored") == len(stored) > 0
    for row in stored:             # one version each, and no decoding garbage
        versions = crawl.rows("SELECT count(*) n FROM listing_versions WHERE listing_id = ?", row["id"])
        assert versions[0]["n"] == 1, row["id"]
        assert "\ufffd" not in row["title"] + row["description"], row["id"]


def test_real_listings_beside_the_faults_are_stored_whole(crawl, catalogue):
    rows = faults.normal_rows(catalogue, "marketplace", 3) + faults.list_rows(catalogue, "marketplace", "malformed")
    for row in rows:
        got = crawl.listing(row.key)
        assert got is not None, row.key
        assert (got["title"], got["description"]) == (row.title, row.description)


def test_malformed_html_is_read_as_far_as_a_lenient_parser_goes(crawl, catalogue):
    row = faults.fault_row(catalogue, "marketplace", "malformed")
    got = crawl.listing(fault_id("malformed"))
    assert got is not None
    assert (got["title"], got["description"], got["price"]) == (row.title, row.description, float(row.price))
    assert got["seller_id"] == f"marketplace:{row.seller_id}"
    assert crawl.stat("sweep/faults/malformed_html") >= 2            # the listing and the list page
    [line] = crawl.lines("WARNING", "malformed HTML")                 # once per crawl, then DEBUG
    assert "/faults/malformed/" in line
    assert "marketplace:" in line and "tag errors" in line


def test_truncated_listings_are_retried_then_dropped_not_stored_half_written(crawl, fault_sandbox):
    for kind, why in (("truncated", "no </body> or </html>"), ("cut-off", "bytes of a longer body")):
        assert_not_stored(crawl, fault_id(kind))
        url = fault_url(fault_sandbox, kind)
        assert crawl.lines("INFO", url, "is truncated", why, "retrying")
        assert crawl.lines("WARNING", f"marketplace: {url} is truncated", why,
                           "dropped rather than stored half-written")
    assert crawl.stat("sweep/faults/truncated_dropped") == 2
    assert crawl.stat("retry/reason_count/truncated") >= 4


def test_truncated_list_pages_keep_the_links_they_have(crawl, fault_sandbox, catalogue):
    assert crawl.stat("sweep/faults/truncated_kept") == 2
    for kind in ("truncated", "cut-off"):
        url = f"{fault_sandbox.urls['marketplace']}/faults/{kind}/list"
        assert crawl.lines("WARNING", url, "is truncated", "keeping the links it has")
        rows = faults.list_rows(catalogue, "marketplace", kind)
        kept = [r for r in rows if crawl.listing(r.key)]
        assert 0 < len(kept) < len(rows), kind          # the links before the cut, and only those
        for row in kept:
            assert crawl.listing(row.key)["description"] == row.description


def test_pages_over_the_size_limit_are_cancelled_counted_and_logged(crawl, fault_sandbox):
    assert crawl.stat("sweep/faults/too_large") == 2                  # streamed, and declared up front
    for kind in ("huge", "huge-declared"):
        assert_not_stored(crawl, fault_id(kind))
        assert crawl.lines("WARNING",
                           f"marketplace: {fault_url(fault_sandbox, kind)} is larger than the 8 MB size limit")


def test_binary_served_as_html_is_dropped(crawl, fault_sandbox):
    assert crawl.stat("sweep/faults/binary") == 2
    for kind, what in (("binary-png", "a PNG image"), ("binary-zip", "a ZIP archive")):
        assert_not_stored(crawl, fault_id(kind))
        assert crawl.lines("WARNING", f"marketplace: {fault_url(fault_sandbox, kind)} is {what} served as text/html")


def test_redirect_loops_are_stopped_at_the_first_repeat(crawl, fault_sandbox):
    assert crawl.stat("sweep/faults/redirect_loop") == 2
    for kind in ("redirect-loop", "redirect-chain"):
        assert_not_stored(crawl, fault_id(kind))
    [loop] = crawl.lines("[crawler.middlewares.redirect_loop] WARNING", "/faults/redirect-loop/")
    assert "loops back" in loop and loop.count("/faults/redirect-loop/") == 3        # a -> b -> a
    [chain] = crawl.lines("[crawler.middlewares.redirect_loop] WARNING", "/faults/redirect-chain/")
    assert "REDIRECT_MAX_TIMES" in chain
    assert crawl.stat("downloader/response_status_count/302") <= 2 + 21      # no hop past the limit


def test_a_stalled_response_times_out_and_is_counted(crawl, fault_sandbox):
    assert crawl.stat("sweep/faults/timeout") == 2                    # the try and its one retry
    assert_not_stored(crawl, fault_id("stall"))
    lines = crawl.lines("WARNING", f"marketplace: {fault_url(fault_sandbox, 'stall')}",
                        f"no complete response within {TIMEOUT}s")
    assert len(lines) == 2
    assert crawl.stat("elapsed_time_seconds") < 60                   # the sandbox would stall for 120 s


def test_a_profile_whose_selectors_match_nothing_is_counted_not_silent(fault_sandbox, tmp_path):
    renamed = {"title": "css:h1.renamed::text", "description": "css:div.renamed ::text"}   # the platform changed
    crawl = fault_crawl(tmp_path, fault_sandbox, "marketplace", "kinds=&normal=3", fields=renamed)
    assert crawl.returncode == 0 and crawl.stat("sweep/stored") == 0
    assert crawl.stat("sweep/items_invalid") == 3 and crawl.stat("sweep/marketplace/list_pages") == 1
    assert len(crawl.lines("WARNING", "invalid listing", "no title")) == 3


def test_the_normal_catalogue_crawl_raises_no_fault(crawled_db):
    """Fault mode off, every check on: thousands of real pages of five platforms, no false alarm."""
    con = sqlite3.connect(crawled_db)
    stats = json.loads(con.execute("SELECT stats FROM crawl_runs ORDER BY id LIMIT 1").fetchone()[0])
    con.close()
    assert set(stats["platforms"]) == {"marketplace", "appstore", "forum", "codehost", "social"}
    for name, platform in stats["platforms"].items():
        assert platform["sweep/stored"] > 50, name                      # the run's sweep/* stats are kept
        assert not [k for k in platform if k.startswith("sweep/faults/")], (name, platform)
