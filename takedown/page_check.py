"""Is a listing page still up? One fetch, read by the profile's ``listing.removed`` block.

Shared by the recheck orchestrator (takedown/recheck.py) and the channels that can check a
listing themselves (channels/sandbox_intake.py), so an adapter never has to call the orchestrator.
What is gone: the status codes (404 and 410 by default), soft-404 texts (商品已下架, 该帖子已被删除, …)
and redirect targets (a search or board page). 429 and 5xx are errors, never a removal; so is a
fetch the platform's outbound policy refused (signal ``refused:…``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from outbound.session import PolicySession, Refused


@dataclass
class CheckResult:
    """What one look at a listing's page found (a channel's own status API answers the same way)."""
    status: str                        # live | gone | error
    signal: str | None = None          # http_404, http_410, text:商品已下架, redirect:/search, ...
    http_status: int | None = None


log = logging.getLogger(__name__)

DEFAULT_REMOVED = {"status": [404, 410], "text": [], "redirect_to": []}


def _text(resp: requests.Response) -> str:
    if "charset" not in resp.headers.get("Content-Type", "").lower():
        for encoding in ("utf-8", "gb18030"):
            try:
                return resp.content.decode(encoding)
            except UnicodeDecodeError:
                continue
        return resp.content.decode("utf-8", errors="replace")
    return resp.text


def classify_response(removed: dict, status: int, text: str, redirected_to: str | None = None) -> CheckResult:
    """Live, gone (and by which signal) or error, by a profile's ``listing.removed`` block."""
    spec = {**DEFAULT_REMOVED, **(removed or {})}
    if status in spec["status"]:
        return CheckResult("gone", f"http_{status}", status)
    if status == 429 or status >= 500:
        return CheckResult("error", f"http_{status}", status)
    if redirected_to:
        target = urlsplit(redirected_to)
        where = target.path + (f"?{target.query}" if target.query else "")
        for marker in spec["redirect_to"]:
            if marker in where:
                return CheckResult("gone", f"redirect:{marker}", status)
    for marker in spec["text"]:
        if marker in text:
            return CheckResult("gone", f"text:{marker}", status)
    if 200 <= status < 300:
        return CheckResult("live", None, status)
    return CheckResult("error", f"http_{status}", status)


def fetch_check(session: PolicySession, url: str, removed: dict, timeout: float = 20.0) -> CheckResult:
    """Re-fetch ``url`` (following redirects, each hop checked by the platform's outbound policy) and
    classify what came back. A refused hop is an error with its reason, never "gone"."""
    if not isinstance(session, PolicySession):
        raise TypeError("fetch_check needs an outbound.session.PolicySession (the platform's outbound policy)")
    try:
        resp = session.get(url, timeout=timeout, allow_redirects=True)
    except Refused as exc:
        log.warning("recheck of %s refused: %s", url, exc)
        return CheckResult("error", f"refused:{exc.reason}"[:300], None)
    except requests.RequestException as exc:
        return CheckResult("error", f"fetch:{type(exc).__name__}", None)
    redirected = resp.url if resp.history else None
    return classify_response(removed, resp.status_code, _text(resp), redirected)
