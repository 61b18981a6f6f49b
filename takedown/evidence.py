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

Here: which listings, in which order, and the ``evidence`` rows. The raw fetch and packaging are
takedown/archive.py, the screenshot takedown/screenshot.py, the file rules takedown/files.py.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from common.clock import SYSTEM, iso
from common.config import Config
from store.db import open_db
from takedown.archive import USER_AGENT, EvidenceRefused, build_warc, fetch_raw, package_wacz
from takedown.fetch_policy import PlatformPolicy, platform_policy
from takedown.files import evidence_dir, resolve_path, sha256_bytes, sha256_file, stored_path, write_once
from takedown.screenshot import Browser

log = logging.getLogger(__name__)

# Listings whose evidence is captured, most urgent first: relists jump the queue.
CAPTURE_STATES = ("relisted", "confirmed", "flagged")


def user_agent(config: Config | None) -> str:
    contact = (config.section("crawl").get("contact") if config else None) or "abuse-team@example.org"
    return f"{USER_AGENT[:-1]}; {contact})"


# -- capture ---------------------------------------------------------------------------------
@dataclass
class CaptureResult:
    captured: list[int] = field(default_factory=list)      # evidence ids
    errors: dict[str, str] = field(default_factory=dict)   # listing id -> why
    refused: int = 0                                        # captures the outbound policy refused
    sandboxed: bool | None = None                           # Chromium ran sandboxed (None: not started)

    def __int__(self):
        return len(self.captured)


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
    wacz = package_wacz(build_warc(hops, shot, meta), listing["url"], captured_at,
                        listing.get("title") or listing["url"])
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
                    "response_sha256, screenshot_path, screenshot_sha256, http_status) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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


def without_evidence(db, states: tuple) -> list[str]:
    """Ids of listings in ``states`` with no evidence of any version (what a report could not cite)."""
    return [r[0] for r in db.execute(
        f"SELECT l.id FROM listings l WHERE l.state IN ({', '.join('?' * len(states))}) "
        "AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.listing_id = l.id) ORDER BY l.id", list(states))]


def verify_all(db_path: str | Path) -> dict[int, list[str]]:
    """Every evidence row's problems (see ``verify``), by evidence id (`sweep evidence --verify`)."""
    db = open_db(db_path)
    try:
        return {r["id"]: verify(db_path, r) for r in map(dict, db.query("SELECT * FROM evidence"))}
    finally:
        db.close()
