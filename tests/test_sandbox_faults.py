"""The sandbox's fault mode (sandbox/faults.py): off by default; when on, each fault is served the way
it breaks crawlers, in the platform's own markup."""
from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import psutil
import pytest
from scrapy.http import HtmlResponse

from crawler.extract import ListingPage, ListPage
from crawler.profile import load_profiles
from sandbox import faults
from sandbox.process import SandboxProcess
from sandbox.server import FAULT_PLATFORMS, PLATFORMS, serve
from tests.helpers import fetch

PROFILES = {p.name: p for p in load_profiles()}
READABLE = {"malformed": None, "gbk-no-charset": "gbk", "gb18030-no-charset": "gb18030",
            "big5-no-charset": "big5", "gbk-as-utf8": "gbk"}   # kind -> the charset the bytes really are


def raw(url: str, timeout: float = 10) -> http.client.HTTPResponse:
    """No redirects followed, no body read."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    conn.request("GET", u.path + (f"?{u.query}" if u.query else ""))
    return conn.getresponse()


def fault_url(sandbox, platform: str, kind: str) -> str:
    return sandbox.urls[platform] + faults.listing_path(platform, kind, faults.fault_pid(kind))


def test_fault_pages_are_off_unless_asked_for():
    assert "--faults" not in SandboxProcess().args and "--faults" in SandboxProcess(faults=True).args

    async def statuses() -> list[int]:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        server = asyncio.create_task(serve(ports=dict.fromkeys(PLATFORMS, 0), rate_limit=0,
                                           ready=ready.set_result))
        urls = await asyncio.wait_for(ready, 60)
        try:
            got = await asyncio.gather(*(loop.run_in_executor(None, fetch, f"{u}/faults/list") for u in urls.values()))
            got += await asyncio.gather(*(loop.run_in_executor(None, fetch, f"{u}/robots.txt") for u in urls.values()))
            return [status for status, _, _ in got]
        finally:
            server.cancel()

    assert asyncio.run(statuses()) == [404] * len(PLATFORMS) + [200] * len(PLATFORMS)


@pytest.mark.parametrize("platform", FAULT_PLATFORMS)
def test_fault_pages_use_the_platforms_own_markup(fault_sandbox, catalogue, platform):
    profile = PROFILES[platform].rebase(fault_sandbox.urls[platform])
    status, headers, body = fetch(f"{fault_sandbox.urls[platform]}/faults/list?normal=2")
    assert status == 200
    index = ListPage.from_response(HtmlResponse(f"{fault_sandbox.urls[platform]}/faults/list", body=body,
                                                headers={"Content-Type": headers["Content-Type"]}), profile)
    kinds = faults.KINDS + (faults.BROWSER_KINDS if platform == "marketplace" else [])
    assert ([u for u in index.listing_links() if "/faults/" in u]
            == [fault_url(fault_sandbox, platform, k) for k in kinds])
    for kind, really in READABLE.items():
        url = fault_url(fault_sandbox, platform, kind)
        status, headers, body = fetch(url)
        assert status == 200
        response = HtmlResponse(url, body=body, encoding=really or faults.PLATFORM_CHARSET[platform])
        listing = ListingPage.from_response(response, profile).to_listing()
        row = faults.fault_row(catalogue, platform, kind)
        assert listing.platform_id == row.pid and listing.title == row.title.strip(), kind
        if kind in faults.NO_CHARSET:
            assert "charset" not in headers["Content-Type"] and b"charset" not in body
        if kind == "gbk-as-utf8":
            assert "charset=utf-8" in headers["Content-Type"]
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")


def test_broken_bodies_are_what_they_say(fault_sandbox):
    market = "marketplace"
    assert fetch(fault_url(fault_sandbox, market, "binary-png"))[2].startswith(b"\x89PNG\r\n\x1a\n")
    zipped = fetch(fault_url(fault_sandbox, market, "binary-zip"))
    assert zipped[1]["Content-Type"].startswith("text/html") and zipped[2].startswith(b"PK\x03\x04")
    assert zipped[2] == fetch(fault_url(fault_sandbox, market, "binary-zip"))[2]          # deterministic
    _, _, truncated = fetch(fault_url(fault_sandbox, market, "truncated"))
    assert b'<h1 class="item-title">' in truncated and b"</html>" not in truncated
    resp = raw(fault_url(fault_sandbox, market, "cut-off"))
    declared = int(resp.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as cut:
        resp.read()
    assert 0 < len(cut.value.partial) < declared


def test_redirect_faults_never_arrive(fault_sandbox):
    a = fault_url(fault_sandbox, "forum", "redirect-loop")
    b = raw(a).getheader("Location")
    assert "/b/" in b and raw(fault_sandbox.urls["forum"] + b).getheader("Location") == urlsplit(a).path
    hops = [raw(fault_url(fault_sandbox, "forum", "redirect-chain")).getheader("Location")]
    hops.append(raw(fault_sandbox.urls["forum"] + hops[0]).getheader("Location"))
    assert hops[0].endswith("?hop=1") and hops[1].endswith("?hop=2")


def test_the_50_mb_page_is_streamed_in_bounded_memory(fault_sandbox):
    server = psutil.Process(fault_sandbox.proc.pid)
    before = server.memory_info().rss
    for kind in ("huge", "huge-declared"):
        resp = raw(fault_url(fault_sandbox, "appstore", kind), timeout=30)
        assert (resp.getheader("Content-Length") is None) == (kind == "huge")
        size, peak = 0, 0
        while chunk := resp.read(1 << 20):
            size += len(chunk)
            peak = max(peak, server.memory_info().rss)
        assert size >= 50_000_000
        assert peak - before < 20 * 1024 * 1024, "the server held the page in memory"
    resp = raw(fault_url(fault_sandbox, "appstore", "huge"))     # a client that hangs up early is fine
    resp.read(1 << 20)
    resp.close()
    assert fetch(f"{fault_sandbox.urls['appstore']}/robots.txt")[0] == 200


def test_a_stalled_response_sends_its_headers_and_part_of_the_body_then_waits(fault_sandbox):
    resp = raw(fault_url(fault_sandbox, "marketplace", "stall") + "?seconds=5", timeout=1.0)
    assert resp.status == 200 and int(resp.getheader("Content-Length")) > 0
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        resp.read()
    assert time.monotonic() - started >= 0.9


def test_browser_faults_are_pages_the_profile_renders(fault_sandbox):
    profile = PROFILES["marketplace"]
    for kind in faults.BROWSER_KINDS:
        url = fault_url(fault_sandbox, "marketplace", kind)
        page = ListingPage.from_response(HtmlResponse(url, body=fetch(url)[2], encoding="utf-8"), profile)
        assert page.needs_browser() and "<script>" in page.text, kind
    assert fetch(fault_url(fault_sandbox, "forum", "crash-tab"))[0] == 404            # marketplace only
    render = f"{fault_sandbox.urls['marketplace']}/faults/crash-once/render/{faults.fault_pid('crash-once')}"
    first, second = (json.loads(fetch(render)[2]) for _ in range(2))
    assert first["crash"] is True and second["crash"] is False and second["description"]
