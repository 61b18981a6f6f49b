"""Every fetcher obeys the outbound policy: recheck, the report intake, evidence's raw fetch and its
Chromium, and the crawl (middleware and Chromium), each with a page that redirects to an internal
address and (where a browser runs it) a page whose JavaScript fetches one.

Nothing is ever sent off loopback: internal targets are IP literals (10.0.0.1, 169.254.169.254,
fd00::1) or a test name an injected resolver maps to one, and the policy refuses them before any
connection. In this process a tripwire fails any socket connect off loopback. The internal service a
loopback-but-not-allowed host reaches is ``/internal`` on the test site: its secret must show up in
nothing Sweep keeps.
"""
from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import sqlite3
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from outbound.policy import Policy
from outbound.session import PolicySession
from takedown.channels import ListingRef, PermanentError, PlatformSettings, Report
from takedown.channels.sandbox_intake import SandboxIntake
from common.config import Config
from takedown.evidence import Browser, EvidenceRefused, capture_listings, fetch_raw, resolve_path
from takedown.page_check import fetch_check
from tests.conftest import sweep
from tests.fixtures_ops import probe_profile, write_profile

SECRET = "INTERNAL-SECRET-7f3a"
NAMES = {"internal.test": ["10.0.0.1"], "metadata.test": ["169.254.169.254"], "shop.test": ["127.0.0.1"]}
PRIVATE = ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/",
           "http://internal.test/admin"]
LISTING = ('<html><body><h1 class="t">probe listing {n}</h1><div class="desc">短信轰炸 测试 {n}</div>'
           '<div id="out">{out}</div>{script}</body></html>')


def resolve(host: str) -> list[str]:
    """The test's resolver: test names only; anything else would be a real lookup, which never happens."""
    if host in NAMES:
        return NAMES[host]
    raise OSError(f"{host}: not a test name")


class Site:
    """A site on 127.0.0.1: listings, ``/redirect?to=``, ``/js/N`` (its script fetches ``js_targets``),
    ``/flip/N`` (a listing once, then a redirect to ``flip_to``), ``/internal`` (the secret), and a report
    intake that redirects to ``intake_to``. ``hits`` holds (Host header, path) of every request."""

    def __init__(self):
        self.hits: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.js_targets: list[str] = []
        self.ws_targets: list[str] = []
        self.flip_to = "http://10.0.0.1/"
        self.intake_to = "http://10.0.0.1/api/report"
        self.seen: set[str] = set()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                site.hits.append((self.headers.get("Host", ""), self.path))
                site.answer(self)

            def do_POST(self):
                site.hits.append((self.headers.get("Host", ""), self.path))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                site.send(self, 307, "", {"Location": site.intake_to})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [unquote(path) for _, path in self.hits]

    @staticmethod
    def send(handler, status: int, body: str, headers: dict | None = None) -> None:
        data = body.encode("utf-8")
        handler.send_response(status)
        for key, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, handler) -> None:
        parts = urlsplit(handler.path)
        path, first = parts.path, parts.path not in self.seen
        self.seen.add(path)
        n = path.rstrip("/").rpartition("/")[2]
        if path == "/robots.txt":
            self.send(handler, 200, "User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
        elif path == "/list":
            links = "".join(f'<div class="card"><a class="title" href="{h}">x</a></div>' for h in self.links)
            self.send(handler, 200, f"<html><body>{links}</body></html>")
        elif path == "/redirect":
            self.send(handler, 302, "", {"Location": parse_qs(parts.query)["to"][0]})
        elif path == "/internal":
            self.send(handler, 200, f"<html><body>{SECRET}</body></html>")
        elif path.startswith("/js/"):
            js, ws = json.dumps(self.js_targets), json.dumps(self.ws_targets)
            script = (f"<script>Promise.allSettled({js}.map(u => fetch(u).then(r => r.text()))).then(rs => "
                      "{document.getElementById('out').textContent = rs.map(r => r.status === 'fulfilled' ? "
                      "r.value : 'blocked').join(' | ')});"
                      f"for (const u of {ws}) {{ const ws = new WebSocket(u); ws.onopen = () => "
                      "document.body.append(' ws-open '); }</script>")
            self.send(handler, 200, LISTING.format(n=n, out="描述加载中", script=script))
        elif path.startswith("/flip/") and not first:
            self.send(handler, 302, "", {"Location": self.flip_to})
        else:
            self.send(handler, 200, LISTING.format(n=n, out="描述加载中" if path.startswith("/flip/") else "ok",
                                                   script=""))

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    with Site() as s:
        yield s


@pytest.fixture(autouse=True)
def tripwire(monkeypatch):
    """Any connect from this process to an address off loopback fails the test instead of leaving the machine."""
    real = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0].split("%", 1)[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"tripwire: connect to {address} off loopback")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def open_policy(loopback: bool = True) -> Policy:
    """Even a platform that lists the internal hosts themselves gets them refused, by address."""
    return Policy(("127.0.0.1", "10.0.0.1", "169.254.169.254", "fd00::1", *NAMES), loopback, resolve)


def policy_of(hosts=("127.0.0.1",), loopback: bool = True) -> Policy:
    return Policy(tuple(hosts), loopback, resolve)


# -- recheck ------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", PRIVATE)
def test_recheck_refuses_a_redirect_to_an_internal_address_before_connecting(site, target):
    session = PolicySession(open_policy())
    result = fetch_check(session, f"{site.url}/redirect?to={target}", {"redirect_to": ["/"]})
    assert result.status == "error" and result.signal.startswith("refused:"), result
    assert "address" in result.signal and "allowed_hosts" not in result.signal
    assert session.refused == 1 and site.paths() == [f"/redirect?to={target}"]


def test_recheck_never_reads_a_refused_redirect_as_removed(site):
    """A loopback host the platform does not list: the old code followed it and read "gone"."""
    session = PolicySession(policy_of())
    internal = f"http://localhost:{site.port}/internal"
    result = fetch_check(session, f"{site.url}/redirect?to={internal}", {"redirect_to": ["/internal"]})
    assert result.status == "error" and "allowed_hosts" in result.signal
    assert "/internal" not in site.paths()
    with pytest.raises(TypeError):          # no unchecked session
        fetch_check(requests.Session(), site.url + "/item/1", {})


def test_recheck_due_records_the_refusal_and_keeps_the_listing_reported(sandbox, catalogue, site, tmp_path):
    from store.db import open_db
    from takedown.recheck import recheck_due
    from store.states import transition
    from tests.fixtures_takedown import harmful_rows, seed_db

    row = harmful_rows(catalogue, "marketplace", 1, 1)[0]
    path = seed_db(tmp_path / "sweep.db", sandbox.urls, [row], state="confirmed")
    db = open_db(path)
    with db.conn:
        transition(db.conn, row.key, "reported", "test", "filed")
        db.conn.execute("UPDATE listings SET url = ?, reported_at = '2026-01-01T00:00:00+00:00' WHERE id = ?",
                        [f"{site.url}/redirect?to=http://10.0.0.1/gone", row.key])
    db.close()
    config = Config({"platforms": {"marketplace": {"channels": []}}})
    summary = recheck_due(path, config, force=True)
    assert summary["error"] == 1 and summary["removed"] == 0 and summary["gone"] == 0
    conn = sqlite3.connect(path)
    status, signal = conn.execute("SELECT status, signal FROM rechecks WHERE listing_id = ?", [row.key]).fetchone()
    assert status == "error" and signal.startswith("refused:") and "10.0.0.1" in signal
    assert conn.execute("SELECT state FROM listings WHERE id = ?", [row.key]).fetchone()[0] == "reported"


# -- report intake channel ----------------------------------------------------------------------
def _report(url: str) -> Report:
    ref = ListingRef("probe:1", "probe", "1", url, "probe listing", "sms_bomber")
    return Report(1, "sweep-test-key", "sandbox_intake", "probe", "sms_bomber", 0, [ref], [], "2026-01-01")


@pytest.mark.parametrize("target", PRIVATE)
def test_intake_refuses_a_redirect_to_an_internal_address(site, target):
    site.intake_to = target
    channel = SandboxIntake(PlatformSettings("probe", base_url=site.url, policy=open_policy()))
    with pytest.raises(PermanentError, match="refused by the outbound policy"):
        channel.file(_report(site.url + "/item/1"))
    assert site.paths() == ["/api/report"]
    check = channel.check(_report(f"{site.url}/redirect?to={target}").listings[0])
    assert check.status == "error" and check.signal.startswith("refused:")


def test_intake_needs_the_platform_policy_and_applies_it_to_its_own_base(site):
    from takedown.channels import NotConfigured

    with pytest.raises(NotConfigured, match="outbound policy"):
        SandboxIntake(PlatformSettings("probe", base_url=site.url))
    closed = SandboxIntake(PlatformSettings("probe", base_url=site.url, policy=policy_of(loopback=False)))
    with pytest.raises(PermanentError, match="loopback"):
        closed.file(_report(site.url + "/item/1"))
    assert site.hits == []


# -- evidence: raw fetch ------------------------------------------------------------------------
@pytest.mark.parametrize("target", PRIVATE)
def test_evidence_raw_fetch_refuses_a_redirect_to_an_internal_address(site, target):
    with pytest.raises(EvidenceRefused, match="refused"):
        fetch_raw(f"{site.url}/redirect?to={target}", open_policy())
    assert site.paths() == [f"/redirect?to={target}"]


def test_evidence_raw_fetch_connects_to_the_checked_address():
    """shop.test exists only in the test's resolver: the request reaches the site through the address
    the policy checked, never through a second lookup."""
    with Site() as s:
        hops = fetch_raw(f"http://shop.test:{s.port}/item/7", Policy(("shop.test",), True, resolve))
        assert hops[-1].status == 200 and b"probe listing 7" in hops[-1].response
        assert s.hits == [(f"shop.test:{s.port}", "/item/7")]


# -- evidence: Chromium -------------------------------------------------------------------------
@pytest.fixture
def browser():
    b = Browser(timeout_ms=15000)
    yield b
    b.close()


@pytest.mark.browser
@pytest.mark.parametrize("target", PRIVATE)
def test_evidence_chromium_refuses_a_redirect_to_an_internal_address(site, browser, target):
    with pytest.raises(EvidenceRefused, match="refused"):
        browser.screenshot(f"{site.url}/redirect?to={target}", "Sweep-test", open_policy(), javascript=True)
    assert site.paths() == [f"/redirect?to={target}"]


@pytest.mark.browser
def test_evidence_chromium_blocks_what_a_page_script_fetches(site, browser):
    internal = f"http://localhost:{site.port}/internal"
    site.js_targets = [*PRIVATE, internal, f"/redirect?to={internal}", "/redirect?to=http://10.0.0.1/x", "/item/2"]
    site.ws_targets = ["ws://10.0.0.1/feed", f"ws://localhost:{site.port}/internal"]
    shot, text, refused = browser.screenshot(f"{site.url}/js/1", "Sweep-test", open_policy(), javascript=True)
    assert set(site.ws_targets) <= set(refused) and "ws-open" not in text
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    # Each internal fetch failed in the page; the allowed one worked.
    assert text.count("blocked") == len(site.js_targets) - 1 and "probe listing 2" in text and SECRET not in text
    assert set(PRIVATE) | {internal, "http://10.0.0.1/x"} <= set(refused)
    assert "/internal" not in site.paths() and "/item/2" in site.paths()


@pytest.mark.browser
def test_evidence_chromium_captures_from_a_thread_that_runs_an_asyncio_loop(site, browser):
    # A Starlette handler, a Scrapy reactor on asyncio or a notebook calls with a loop running in the
    # thread; Playwright's sync API refuses such a thread, so the browser keeps to a thread of its own.
    import asyncio

    async def inside_a_loop():
        return browser.screenshot(f"{site.url}/item/4", "Sweep-test", open_policy(), javascript=False)

    shot, text, _ = asyncio.run(inside_a_loop())
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and "probe listing 4" in text
    shot, text, _ = browser.screenshot(f"{site.url}/item/5", "Sweep-test", open_policy())   # and outside it
    assert "probe listing 5" in text and "/item/5" in site.paths()


@pytest.mark.browser
def test_evidence_chromium_keeps_javascript_off_unless_the_profile_renders(site, browser):
    site.js_targets = ["/item/3"]
    _, text, _ = browser.screenshot(f"{site.url}/js/1", "Sweep-test", open_policy(), javascript=False)
    assert "描述加载中" in text and "/item/3" not in site.paths()


def _probe_platform(tmp_path, site, renders: bool, listings: list[str]):
    """A database holding flagged listings of platform ``probe`` at ``listings`` (paths on the site)."""
    from crawler.items import Listing
    from crawler.pipelines.normalise import NormalisePipeline
    from crawler.profile import load_profile
    from store.db import open_db
    from store.listings import Store

    data = probe_profile(site.url)
    data["listing"]["url"] = r"/(?:item|js|redirect)/?(?P<id>\d*)"
    if renders:
        data["listing"]["browser"] = {"when": "css:#out"}
    profile = load_profile(write_profile(tmp_path, data))
    store = Store(open_db(tmp_path / "sweep.db"))
    store.register_platforms([profile])
    items = []
    for n, path in enumerate(listings):
        item = NormalisePipeline().process_item(Listing(
            id=f"probe:{n}", platform="probe", platform_id=str(n), kind="ecommerce", url=site.url + path,
            title=f"probe {n}", description="短信轰炸 测试", crawled_at="2026-11-27T08:00:00+00:00"))
        item.classification = {"label": "sms_bomber", "score": 0.97, "flagged": True, "scores": {},
                               "explanation": [], "model_version": "test"}
        items.append(item)
    store.write_batch(items, run_id=None)
    store.db.close()
    return tmp_path / "sweep.db"


def _stored_bytes(db_path) -> bytes:
    """Every byte of every evidence file (WACZ unzipped) the database points at."""
    out = b""
    for wacz, png in sqlite3.connect(db_path).execute("SELECT wacz_path, screenshot_path FROM evidence"):
        with zipfile.ZipFile(resolve_path(db_path, wacz)) as z:
            for name in z.namelist():
                data = z.read(name)
                out += gzip.decompress(data) if name.endswith(".gz") else data
        out += resolve_path(db_path, png).read_bytes()
    return out


@pytest.mark.browser
def test_capture_refuses_a_listing_redirected_to_a_host_the_profile_does_not_allow(site, tmp_path):
    """Loopback, but not a host the platform lists: the old capture archived the internal page."""
    internal = f"http://localhost:{site.port}/internal"
    path = _probe_platform(tmp_path, site, renders=True, listings=[f"/redirect?to={internal}"])
    result = capture_listings(path, Config())
    assert result.captured == [] and result.refused == 1
    assert "refused" in result.errors["probe:0"] and "allowed_hosts" in result.errors["probe:0"]
    assert "/internal" not in site.paths()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM evidence").fetchone()[0] == 0
    evidence = tmp_path / "evidence"
    assert not evidence.exists() or not any(p.is_file() for p in evidence.rglob("*"))


@pytest.mark.browser
def test_capture_of_a_page_whose_script_fetches_internal_urls_keeps_none_of_them(site, tmp_path):
    internal = f"http://localhost:{site.port}/internal"
    site.js_targets = [internal, "http://10.0.0.1/", f"/redirect?to={internal}"]
    path = _probe_platform(tmp_path, site, renders=True, listings=["/js/1"])
    result = capture_listings(path, Config())
    assert len(result.captured) == 1, result.errors
    assert "/internal" not in site.paths()
    stored = _stored_bytes(path)
    assert SECRET.encode() not in stored and b"probe listing 1" in stored
    meta = json.loads(_meta(path))
    assert internal in meta["refused_requests"] and "http://10.0.0.1/" in meta["refused_requests"]
    assert meta["javascript"] is True


def _meta(db_path) -> str:
    import io

    from warcio.archiveiterator import ArchiveIterator

    (wacz,) = sqlite3.connect(db_path).execute("SELECT wacz_path FROM evidence").fetchone()
    with zipfile.ZipFile(resolve_path(db_path, wacz)) as z:
        warc = z.read(next(n for n in z.namelist() if n.startswith("archive/")))
    for record in ArchiveIterator(io.BytesIO(warc)):
        if record.rec_type == "metadata":
            return record.content_stream().read().decode("utf-8")
    raise AssertionError("no metadata record")


# -- the crawl ----------------------------------------------------------------------------------
def _crawl(site, tmp_path, links, **profile_changes):
    profiles = tmp_path / "profiles"
    profiles.mkdir(exist_ok=True)
    data = probe_profile(site.url)
    data["listing"]["url"] = r"/(?:item|js|flip)/(?P<id>\d+)$"
    data.update(profile_changes)
    write_profile(profiles, data)
    site.links = links
    db = tmp_path / "crawl.db"
    proc = sweep("crawl", "--db", str(db), "--profiles", str(profiles), "--platform", "probe", check=False)
    stats = json.loads(sqlite3.connect(db).execute("SELECT stats FROM crawl_runs").fetchone()[0])
    return proc, stats["platforms"]["probe"], db


def test_crawl_refuses_redirects_to_internal_addresses(site, model_path, tmp_path):
    internal = f"http://localhost:{site.port}/internal"
    links = ["/item/1", *(f"/redirect?to={t}" for t in PRIVATE[:3]), f"/redirect?to={internal}"]
    _, stats, _ = _crawl(site, tmp_path, links)
    assert stats["sweep/allowlist/refused"] == 4
    assert "/internal" not in site.paths() and "/item/1" in site.paths()


@pytest.mark.browser
def test_crawl_chromium_blocks_script_fetches_and_redirects_to_internal_addresses(site, model_path, tmp_path):
    internal = f"http://localhost:{site.port}/internal"
    site.js_targets = [internal, *PRIVATE[:3], f"/redirect?to={internal}", "/redirect?to=http://10.0.0.1/x",
                       "/item/9"]
    site.flip_to = internal                        # the browser's second load of /flip/2 redirects inside Chromium
    listing = {**probe_profile(site.url)["listing"], "url": r"/(?:item|js|flip)/(?P<id>\d+)$",
               "fields": {"title": "css:h1.t::text", "description": ["css:div.desc ::text", "css:#out ::text"]},
               "browser": {"when": "xpath://div[@id='out'][contains(., '描述加载中')]", "timeout_ms": 8000,
                           "wait_for": "xpath://div[@id='out'][not(contains(., '描述加载中'))]"}}
    # /flip/2 is refused rendering, so it is stored without the browser: the unrendered monitor
    # counts it (1 of 2 browser pages), and this crawl allows that share.
    proc, stats, db = _crawl(site, tmp_path, ["/js/1", "/flip/2"], listing=listing,
                             monitors={"max_unrendered_ratio": 0.5})
    assert stats.get("sweep/probe/browser_pages") == 2, proc.stderr[-3000:]
    assert stats.get("sweep/probe/unrendered") == 1
    assert "/internal" not in site.paths()
    assert "/item/9" in site.paths()               # the page's own, allowed fetch went through the guard
    assert stats["sweep/browser/sandboxed"] in (0, 1)
    assert stats["sweep/allowlist/refused"] == 1                 # /flip/2's redirect: ignored, never retried
    assert stats["sweep/browser/refused"] in (6, 7)    # /js/1's script: 6 (+ /flip/2 if it came first)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = dict(sqlite3.connect(db).execute("SELECT platform_id, description FROM listings").fetchall())
    assert "blocked" in rows["1"] and SECRET not in " ".join(rows.values())
