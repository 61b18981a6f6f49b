"""Pages that crash or hang Chromium (crawler/middlewares/browser_retry.py): every page call is
bounded, a failed render is retried on a fresh page, and a render that never works keeps the
listing's plain-HTTP content. Real Chromium, real crawls of the fault sandbox's marketplace."""
from __future__ import annotations

import pytest

from sandbox import faults
from tests.fixtures_faults import fault_crawl

pytestmark = pytest.mark.browser
PLACEHOLDER = "描述加载中…"          # what plain HTTP shows where the script fills the description in
WHEN = "css:div#desc[data-render=js]"


@pytest.fixture(scope="module")
def crashes(fault_sandbox, tmp_path_factory):
    """The bundled marketplace profile's browser settings (wait for the description), 6 s timeouts."""
    browser = {"when": WHEN, "wait_for": "css:div#desc.loaded", "timeout_ms": 6000}
    return fault_crawl(tmp_path_factory.mktemp("crashes"), fault_sandbox, "marketplace",
                       "kinds=crash-tab,crash-once&normal=1&js=1", browser=browser)


@pytest.fixture(scope="module")
def hangs(fault_sandbox, tmp_path_factory):
    """No wait_for: Page.content() follows `load` at once — the call that hangs with no timeout.
    One retry (the default two are shown above) keeps this crawl short."""
    browser = {"when": WHEN, "timeout_ms": 1500}
    return fault_crawl(tmp_path_factory.mktemp("hangs"), fault_sandbox, "marketplace",
                       "kinds=hang-tab,hang-after-load&normal=1",
                       {"SWEEP_BROWSER_GRACE": 1, "SWEEP_BROWSER_RETRY_TIMES": 1}, browser=browser)


def url(sandbox, kind: str) -> str:
    return sandbox.urls["marketplace"] + faults.listing_path("marketplace", kind, faults.fault_pid(kind))


def failed_renders(crawl) -> float:
    """Renders that failed, whatever the reason (sweep/faults/browser_crashed, _timeout, _hung, ...)."""
    prefix, outcomes = "sweep/faults/browser_", {"retried", "gave_up", "fallback"}
    return sum(v for k, v in crawl.stats.items() if k.startswith(prefix) and k[len(prefix):] not in outcomes)


def assert_kept_from_plain_http(crawl, catalogue, kind):
    row = faults.fault_row(catalogue, "marketplace", kind)
    got = crawl.listing(row.key)
    assert got is not None, kind
    assert (got["title"], got["description"], got["price"]) == (row.title, PLACEHOLDER, float(row.price))
    assert crawl.rows("SELECT count(*) n FROM listing_versions WHERE listing_id = ?", row.key)[0]["n"] == 1


def test_a_tab_that_crashes_once_is_rendered_on_a_fresh_page(crashes, fault_sandbox, catalogue):
    row = faults.fault_row(catalogue, "marketplace", "crash-once")
    assert crashes.listing(row.key)["description"] == row.description          # the retry rendered it
    retries = crashes.lines("[crawler.middlewares.browser_retry] INFO", url(fault_sandbox, "crash-once"))
    assert retries and "retrying on a fresh page (1/2)" in retries[0]
    assert not crashes.lines("gave up", url(fault_sandbox, "crash-once"))


def test_a_tab_that_always_crashes_is_given_up_and_the_plain_listing_kept(crashes, fault_sandbox, catalogue):
    page = url(fault_sandbox, "crash-tab")
    assert len(crashes.lines("retrying on a fresh page", page)) == 2
    [gave_up] = crashes.lines("[crawler.middlewares.browser_retry] WARNING", page)
    assert "gave up after 3 attempts" in gave_up
    assert crashes.lines("WARNING", page, "keeping the plain-HTTP content")
    assert_kept_from_plain_http(crashes, catalogue, "crash-tab")
    # Every failed render was retried or given up — at least crash-tab's 3 and crash-once's first; a
    # busy machine may add a timeout. A crash is told apart from a timeout (a slow box may time out
    # before V8 reaches its heap limit, but not every time).
    failed = failed_renders(crashes)
    assert failed >= 4 and failed == crashes.stat("sweep/faults/browser_retried") + crashes.stat(
        "sweep/faults/browser_gave_up")
    assert crashes.stat("sweep/faults/browser_crashed") >= 1
    assert crashes.stat("sweep/faults/browser_gave_up") == crashes.stat("sweep/faults/browser_fallback") == 1


def test_other_rendered_and_plain_pages_are_unaffected(crashes, catalogue):
    assert crashes.returncode == 0 and crashes.stats["finish_reason"] == "finished"
    [js_row] = faults.js_rows(catalogue, 1)
    assert crashes.listing(js_row.key)["description"] == js_row.description     # rendered in Chromium
    [plain] = faults.normal_rows(catalogue, "marketplace", 1)
    assert crashes.listing(plain.key)["description"] == plain.description
    assert crashes.stat("sweep/stored") == 4


def test_a_tab_hung_before_load_times_out_and_is_retried(hangs, fault_sandbox, catalogue):
    page = url(fault_sandbox, "hang-tab")
    assert hangs.lines("INFO", page, "timed out (Page.goto: Timeout 1500ms exceeded.); retrying on a fresh page (1/1)")
    assert hangs.lines("WARNING", page, "timed out", "gave up after 2 attempts")
    assert_kept_from_plain_http(hangs, catalogue, "hang-tab")


def test_a_tab_hung_after_load_is_closed_at_its_deadline(hangs, fault_sandbox, catalogue):
    # Page.content() has no timeout: without the watchdog this render would never end.
    page = url(fault_sandbox, "hang-after-load")
    # The watchdog closed the tab at least once; on a busy machine an attempt may time out in goto first.
    assert hangs.lines(page, "hung its tab (no answer within 2.5s)")
    assert hangs.lines("WARNING", page, "gave up after 2 attempts")
    assert hangs.stat("sweep/faults/browser_hung") >= 1
    assert failed_renders(hangs) == 4                      # both pages, both attempts: none rendered
    assert_kept_from_plain_http(hangs, catalogue, "hang-after-load")
    assert hangs.stats["finish_reason"] == "finished"
    assert hangs.stat("elapsed_time_seconds") < 60           # 2 × 2.5 s and the tab closes, not forever
    assert hangs.stat("sweep/faults/browser_fallback") == 2 and hangs.stat("sweep/stored") == 3
