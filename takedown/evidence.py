"""Evidence: capture a flagged listing once, as a standard web archive nobody can quietly change.

One capture per listing version: the raw HTTP exchange (every redirect hop, bytes exactly
as received) and a full-page screenshot from Debian's Chromium, written as WARC records
(``request``/``response``, a ``resource`` record ``urn:fullPage:<url>`` as browsertrix-crawler
writes screenshots, and a ``metadata`` record with Sweep's digests) and packaged as WACZ with
py-wacz, so ReplayWeb.page and pywb open it. The screenshot is also kept as a PNG beside it.

Files go to ``<db dir>/evidence/<platform>/<id>/v<version>-<UTC time>.{wacz,png}`` (or
``[evidence] dir``), are linked into place only when complete, never overwritten and made
read-only; their SHA-256 digests go into the ``evidence`` table, which refuses updates.

Both fetches obey the platform's outbound policy (takedown/fetch_policy.py): the raw fetch checks
each hop and connects to the checked address; Chromium gets the route guard, which checks every
request the page makes and every redirect. A refused hop fails the capture with the reason, and
nothing of it is archived or screenshotted. JavaScript runs only for platforms whose profile
marks pages for the browser (``listing.browser``); Chromium runs sandboxed where the machine
allows it (outbound/chromium.py).
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from outbound.browser import RouteGuard
from outbound.chromium import launch
from outbound.httpclient import checked
from outbound.policy import Policy, Refused

from common.clock import SYSTEM, iso
from common.config import Config
from store.db import open_db
from takedown.fetch_policy import PlatformPolicy, platform_policy

log = logging.getLogger(__name__)

USER_AGENT = "Sweep/0.1 (harassment-tool takedown crawler; evidence capture; +https://example.org/sweep)"
# Listings whose evidence is captured, most urgent first: relists jump the queue.
CAPTURE_STATES = ("relisted", "confirmed", "flagged")
MAX_REDIRECTS = 5


class EvidenceError(RuntimeError):
    pass


class EvidenceRefused(EvidenceError):
    """The outbound policy refused the page, a redirect of it, or where it moved (nothing was kept)."""


def user_agent(config: Config | None) -> str:
    contact = (config.section("crawl").get("contact") if config else None) or "abuse-team@example.org"
    return f"{USER_AGENT[:-1]}; {contact})"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# -- where evidence lives ---------------------------------------------------------------------
def evidence_dir(db_path: str | Path, config: Config | None = None) -> Path:
    configured = config.section("evidence").get("dir") if config else None
    return Path(configured) if configured else Path(db_path).resolve().parent / "evidence"


def stored_path(path: Path, db_path: str | Path) -> str:
    """Relative to the database's directory when inside it, so the two move together."""
    base = Path(db_path).resolve().parent
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path.resolve())


def resolve_path(db_path: str | Path, stored: str) -> Path:
    """The file an ``evidence.*_path`` value names."""
    p = Path(stored)
    return p if p.is_absolute() else Path(db_path).resolve().parent / p


def write_once(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` atomically; an existing file is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.link(tmp, path)          # fails with FileExistsError rather than overwrite
    finally:
        os.unlink(tmp)


# -- the raw HTTP exchange -------------------------------------------------------------------
class _Tee:
    """Wraps a response's socket file and keeps every byte read from it."""

    def __init__(self, fp, sink: bytearray):
        self.fp, self.sink = fp, sink

    def read(self, amt=None):
        data = self.fp.read(amt) if amt is not None else self.fp.read()
        self.sink += data
        return data

    def read1(self, amt=-1):
        data = self.fp.read1(amt)
        self.sink += data
        return data

    def readinto(self, buff):
        n = self.fp.readinto(buff)
        self.sink += bytes(memoryview(buff)[:n or 0])
        return n

    def readline(self, limit=-1):
        line = self.fp.readline(limit)
        self.sink += line
        return line

    def close(self):
        self.fp.close()

    def flush(self):
        pass


def _recording(base):
    class Recording(base):
        """http.client connection that keeps the request and response bytes as sent/received."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sent, self.received = bytearray(), bytearray()
            received = self.received

            class Response(http.client.HTTPResponse):
                def __init__(self, sock, *a, **kw):
                    super().__init__(sock, *a, **kw)
                    self.fp = _Tee(self.fp, received)

            self.response_class = Response

        def send(self, data):
            self.sent += data if isinstance(data, (bytes, bytearray)) else bytes(data)
            super().send(data)

    return Recording


_HTTP, _HTTPS = _recording(http.client.HTTPConnection), _recording(http.client.HTTPSConnection)


@dataclass
class Exchange:
    url: str
    request: bytes
    response: bytes
    status: int
    location: str | None = None


def fetch_raw(url: str, policy: Policy, ua: str = USER_AGENT, timeout: float = 20.0) -> list[Exchange]:
    """GET ``url`` following redirects, each hop checked by ``policy`` before it is connected;
    every hop's exact request and response bytes."""
    hops: list[Exchange] = []
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EvidenceError(f"cannot capture {url!r}: not an http(s) URL")
        try:
            conn = checked(_HTTPS if parts.scheme == "https" else _HTTP, url, policy, timeout)
        except Refused as exc:
            raise EvidenceRefused(f"cannot capture {hops[0].url if hops else url}: {exc}") from None
        try:
            conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                         headers={"User-Agent": ua, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                                  "Accept-Encoding": "identity", "Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            resp.close()
        except (OSError, http.client.HTTPException) as exc:
            raise EvidenceError(f"cannot fetch {url}: {exc}") from exc
        finally:
            conn.close()
        location = resp.getheader("Location")
        hops.append(Exchange(url, bytes(conn.sent), bytes(conn.received), resp.status, location))
        if resp.status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return hops
    raise EvidenceError(f"cannot capture {hops[0].url}: more than {MAX_REDIRECTS} redirects")


# -- packaging -------------------------------------------------------------------------------
def build_warc(hops: list[Exchange], screenshot: bytes, meta: dict) -> bytes:
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record("evidence.warc.gz", {
        "software": "Sweep 0.1 (warcio)", "format": "WARC File Format 1.1",
        "description": f"Evidence for {meta['listing_id']} version {meta['version']}"}))
    for hop in hops:
        request = writer.create_warc_record(hop.url, "request", payload=io.BytesIO(hop.request),
                                            length=len(hop.request))
        response = writer.create_warc_record(hop.url, "response", payload=io.BytesIO(hop.response),
                                             length=len(hop.response))
        writer.write_request_response_pair(request, response)
    page_url = hops[0].url
    writer.write_record(writer.create_warc_record(
        f"urn:fullPage:{page_url}", "resource", payload=io.BytesIO(screenshot), length=len(screenshot),
        warc_content_type="image/png"))
    body = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
    # Its own URI: under the page's URL a replay tool could serve this JSON instead of the page.
    writer.write_record(writer.create_warc_record(
        f"urn:sweep:evidence:{page_url}", "metadata", payload=io.BytesIO(body), length=len(body), warc_content_type="application/json"))
    return out.getvalue()


def package_wacz(warc: bytes, url: str, when: str, title: str) -> bytes:
    """WACZ bytes for one WARC, made by py-wacz (the reference packager), pages detected."""
    from wacz.main import main as wacz_main

    with tempfile.TemporaryDirectory(prefix="sweep-wacz-") as tmp:
        warc_path, wacz_path = Path(tmp) / "evidence.warc.gz", Path(tmp) / "evidence.wacz"
        warc_path.write_bytes(warc)
        # --url makes the listing the package's main (and only) page: replay tools open it first.
        args = ["create", "-o", str(wacz_path), str(warc_path), "--url", url,
                "--title", title[:200], "--desc", f"Sweep evidence captured {when}"]
        with contextlib.redirect_stdout(io.StringIO()) as chatter:       # py-wacz prints progress
            code = wacz_main(args)
        if code != 0 or not wacz_path.exists():
            raise EvidenceError(f"py-wacz could not package {url}: {chatter.getvalue()[-500:]}")
        return wacz_path.read_bytes()


# -- capture ---------------------------------------------------------------------------------
@dataclass
class CaptureResult:
    captured: list[int] = field(default_factory=list)      # evidence ids
    errors: dict[str, str] = field(default_factory=dict)   # listing id -> why
    refused: int = 0                                        # captures the outbound policy refused
    sandboxed: bool | None = None                           # Chromium ran sandboxed (None: not started)

    def __int__(self):
        return len(self.captured)


class Browser:
    """One headless Debian Chromium for a batch of screenshots (started lazily), sandboxed where the
    machine allows it; a context with JavaScript and one without, and every page guarded."""

    def __init__(self, timeout_ms: int = 20000, user: str = "nobody"):
        self.timeout_ms = timeout_ms
        self.user = user
        self.sandboxed: bool | None = None        # known once started
        self._pw = self._browser = None
        self._contexts: dict[bool, object] = {}

    def _context(self, ua: str, javascript: bool):
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            _warn_without_cjk_font()
            chosen = launch(self.user)
            self.sandboxed = chosen.sandbox
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(**chosen.playwright_options())
        if javascript not in self._contexts:
            context = self._browser.new_context(user_agent=ua, viewport={"width": 1280, "height": 900},
                                                locale="zh-CN", java_script_enabled=javascript,
                                                service_workers="block")    # a worker's fetches escape routes
            RouteGuard(Policy(())).install(context)      # popups: the page's own guard is on the page only
            self._contexts[javascript] = context
        return self._contexts[javascript]

    def screenshot(self, url: str, ua: str, policy: Policy, javascript: bool = False) -> tuple[bytes, str, list]:
        """Full-page PNG of the rendered page, its visible text (what the screenshot shows, searchable) and
        the URLs the page asked for that ``policy`` refused. A refused navigation fails the capture."""
        page = self._context(ua, javascript).new_page()
        guard = RouteGuard(policy)
        guard.install(page)
        try:
            try:
                page.goto(url, wait_until="networkidle", timeout=self.timeout_ms)
            except Exception as exc:
                refused = [f"{u}: {why}" for u, why in guard.refused]
                if refused:
                    raise EvidenceRefused(f"cannot capture {url}: refused {refused[0]}") from None
                raise
            if page.url != url and guard.judge(page.url):      # belt and braces: never shoot a refused page
                raise EvidenceRefused(f"cannot capture {url}: the page moved to {page.url}")
            shot = page.screenshot(full_page=True, type="png", timeout=self.timeout_ms)
            return shot, page.inner_text("body", timeout=self.timeout_ms), [u for u, _ in guard.refused]
        finally:
            page.close()

    def close(self) -> None:
        for closer in (*self._contexts.values(), self._browser):
            with contextlib.suppress(Exception):
                closer and closer.close()
        if self._pw:
            with contextlib.suppress(Exception):
                self._pw.stop()
        self._pw = self._browser = None
        self._contexts = {}


def _warn_without_cjk_font() -> None:
    """Without a CJK font Chromium draws Chinese as empty boxes: evidence nobody can read."""
    import shutil
    import subprocess

    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
        if not found:
            log.warning("no Chinese font installed: screenshots will show boxes for Chinese text "
                        "(install Debian's fonts-wqy-microhei or fonts-noto-cjk)")


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[:80] or "_"


def capture_one(db_path: str | Path, listing: dict, out_dir: Path, browser: Browser, rule: PlatformPolicy,
                clock=SYSTEM, ua: str = USER_AGENT) -> dict:
    """Fetch, screenshot and package one listing; returns the evidence row (not yet stored)."""
    hops = fetch_raw(listing["url"], rule.policy, ua)
    shot, rendered_text, refused = browser.screenshot(listing["url"], ua, rule.policy, javascript=rule.renders)
    when = clock.now()
    captured_at = iso(when)
    final = hops[-1]
    meta = {"listing_id": listing["id"], "version": listing["version"], "captured_at": captured_at,
            "url": listing["url"], "final_url": final.url, "http_status": final.status,
            "response_sha256": sha256_bytes(final.response), "screenshot_sha256": sha256_bytes(shot),
            "hops": [{"url": h.url, "status": h.status, "response_sha256": sha256_bytes(h.response)} for h in hops],
            "rendered_text": rendered_text[:20000], "tool": "Sweep 0.1",
            "refused_requests": refused[:50], "javascript": rule.renders}
    wacz = package_wacz(build_warc(hops, shot, meta), listing["url"], captured_at, listing.get("title") or listing["url"])
    stem = out_dir / _slug(listing["platform"]) / _slug(listing["platform_id"] or listing["id"])
    name = f"v{listing['version']}-{when.strftime('%Y%m%dT%H%M%S%fZ')}"
    wacz_path, png_path = stem / f"{name}.wacz", stem / f"{name}.png"
    write_once(wacz_path, wacz)
    write_once(png_path, shot)
    return {"listing_id": listing["id"], "version": listing["version"], "captured_at": captured_at,
            "url": listing["url"], "wacz_path": stored_path(wacz_path, db_path), "wacz_sha256": sha256_bytes(wacz),
            "response_sha256": meta["response_sha256"], "screenshot_path": stored_path(png_path, db_path),
            "screenshot_sha256": meta["screenshot_sha256"], "http_status": final.status}


def missing(db, listing_ids: list[str] | None = None, states=CAPTURE_STATES, limit: int | None = None) -> list[dict]:
    """Listings in ``states`` (or exactly ``listing_ids``) with no evidence for their current version: state by
    state in CAPTURE_STATES order, best score first. Each state walks ``listings_state_score`` and stops at
    ``limit``, so a cycle reads the rows it will capture, not every flagged listing."""
    cols = ("SELECT l.id, l.platform, l.platform_id, l.url, l.title, l.version, l.state FROM listings l "
            "WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.listing_id = l.id AND e.version = l.version) ")
    rank = {s: i for i, s in enumerate(CAPTURE_STATES)}
    if listing_ids is not None:
        rows = [dict(r) for r in db.query(cols + f"AND l.id IN ({', '.join('?' * len(listing_ids))})",
                                          list(listing_ids))]
        scores = dict(db.execute(f"SELECT id, score FROM listings WHERE id IN ({', '.join('?' * len(listing_ids))})",
                                 list(listing_ids)).fetchall()) if rows else {}
        rows.sort(key=lambda r: (rank.get(r["state"], 9), -(scores.get(r["id"]) or 0), r["id"]))
        return rows[:limit] if limit else rows
    out: list[dict] = []
    for state in sorted(dict.fromkeys(states), key=lambda s: rank.get(s, 9)):
        left = (int(limit) - len(out)) if limit else -1
        if left == 0:
            break
        out += [dict(r) for r in db.query(cols + "AND l.state = ? ORDER BY l.score DESC, l.id LIMIT ?", [state, left])]
    return out


def capture_listings(db_path: str | Path, config: Config | None = None, clock=SYSTEM,
                     listing_ids: list[str] | None = None, limit: int | None = None) -> CaptureResult:
    """Capture evidence for listings that have none for their current version."""
    config = config or Config()
    db = open_db(db_path)
    result = CaptureResult()
    todo = missing(db, listing_ids, limit=limit)
    if not todo:
        db.close()
        return result
    out_dir, ua = evidence_dir(db_path, config), user_agent(config)
    section = config.section("evidence")
    browser = Browser(int(section.get("timeout_ms", 20000)), section.get("browser_user", "nobody"))
    rules: dict[str, PlatformPolicy] = {}
    try:
        for listing in todo:
            if listing["platform"] not in rules:
                rules[listing["platform"]] = platform_policy(db, config, listing["platform"])
            try:
                row = capture_one(db_path, listing, out_dir, browser, rules[listing["platform"]], clock, ua)
            except Exception as exc:     # a page or the browser failing must not stop the batch
                log.warning("evidence for %s not captured: %s", listing["id"], exc)
                result.errors[listing["id"]] = str(exc)[:300]
                result.refused += isinstance(exc, EvidenceRefused)
                continue
            with db.atomic():
                # A concurrent capture of the same version already won: keep its row, ours stays on disk.
                cur = db.execute(
                    "INSERT OR IGNORE INTO evidence (listing_id, version, captured_at, url, wacz_path, wacz_sha256, "
                    "response_sha256, screenshot_path, screenshot_sha256, http_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [row[k] for k in ("listing_id", "version", "captured_at", "url", "wacz_path", "wacz_sha256",
                                      "response_sha256", "screenshot_path", "screenshot_sha256", "http_status")])
            if cur.rowcount:
                result.captured.append(cur.lastrowid)
    finally:
        result.sandboxed = browser.sandboxed
        browser.close()
        db.close()
    return result


def capture_flagged(db_path: str | Path, config: Config | None = None, clock=SYSTEM) -> int:
    """Scheduler hook: capture every flagged/relisted/confirmed listing lacking evidence; returns how many."""
    limit = (config or Config()).section("evidence").get("max_per_cycle", 200)
    return len(capture_listings(db_path, config, clock, limit=limit).captured)


def verify(db_path: str | Path, row: dict) -> list[str]:
    """Problems with one evidence row's files (missing, or digest not what was recorded)."""
    problems = []
    for kind in ("wacz", "screenshot"):
        path = resolve_path(db_path, row[f"{kind}_path"])
        if not path.exists():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != row[f"{kind}_sha256"]:
            problems.append(f"{path}: SHA-256 differs from the recorded digest")
    return problems


def verify_all(db_path: str | Path) -> dict[int, list[str]]:
    """Every evidence row's problems (see ``verify``), by evidence id (`sweep evidence --verify`)."""
    db = open_db(db_path)
    try:
        return {r["id"]: verify(db_path, r) for r in map(dict, db.query("SELECT * FROM evidence"))}
    finally:
        db.close()
