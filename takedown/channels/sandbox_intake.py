"""A platform's own report intake, as the bundled sandbox platforms offer it.

    POST {base}/api/report   {"listings": [url, ...], "category", "reason", "reporter", "idempotency_key"}
         201 → {"report_id", "duplicate": false}; 200 → the same report again ("duplicate": true)
    GET  {base}/api/reports  every report received, with its idempotency key (receipt lookup)
    POST {base}/api/report/{id}/withdraw  {"listings": [url, ...], "reason"}   the reporter takes it back

The intake dedupes on the idempotency key, so a resend after a crash is never a second
report. A bearer token, if the platform needs one, comes from ``[platforms.<name>] token_env``.
Every request and redirect hop passes the platform's outbound policy (a refusal is permanent).
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import requests

from outbound.session import PolicySession, Refused

from takedown.channels.base import (Channel, ListingRef, NotConfigured, PermanentError, Receipt,
                                    ReceiptLookup, Report, TransientError, Withdraw)
from takedown.channels.text import render_body
from takedown.page_check import CheckResult, fetch_check

TIMEOUT = 20.0


class SandboxIntake(Channel, ReceiptLookup, Withdraw):
    name = "sandbox_intake"
    max_bundle = 20
    idempotent = True

    def __init__(self, platform, settings=None, secrets=None):
        super().__init__(platform, settings, secrets)
        base = (self.platform.settings.get("report_url") or self.platform.base_url or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise NotConfigured(f"{platform.name}: no base URL for its report intake (crawl it once, or set "
                                f"[platforms.{platform.name}] report_url)")
        if platform.policy is None:
            raise NotConfigured(f"{platform.name}: no outbound policy (use takedown.platforms.platform_settings)")
        self.base = base
        # Every request and redirect hop is checked: the platform's hosts, never an internal address.
        self.session = PolicySession(platform.policy.widened(urlsplit(base).hostname))
        self.session.headers["User-Agent"] = self.settings.get("user_agent", "Sweep/0.1 (report filing)")
        if self._secrets.get("token"):
            self.session.headers["Authorization"] = f"Bearer {self._secrets['token']}"

    def file(self, report: Report) -> Receipt:
        payload = {"listings": [item.url for item in report.listings], "category": report.category,
                   "reason": render_body(report), "reporter": report.reporter.get("org", "Sweep"),
                   "idempotency_key": report.idempotency_key,
                   "evidence": [{"listing": item.url, "wacz_sha256": item.evidence.wacz_sha256,
                                 "screenshot_sha256": item.evidence.screenshot_sha256,
                                 "captured_at": item.evidence.captured_at}
                                for item in report.listings if item.evidence]}
        try:
            resp = self.session.post(f"{self.base}/api/report", json=payload, timeout=TIMEOUT)
        except Refused as exc:
            raise PermanentError(f"{self.platform.name} intake refused by the outbound policy: {exc.reason}") from None
        except requests.RequestException as exc:
            raise TransientError(f"{self.platform.name} intake unreachable: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            retry = resp.headers.get("Retry-After")
            raise TransientError(f"{self.platform.name} intake answered {resp.status_code}",
                                 float(retry) if retry and retry.replace(".", "", 1).isdigit() else None)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code not in (200, 201) or "report_id" not in body:
            raise PermanentError(f"{self.platform.name} intake refused the report: HTTP {resp.status_code} "
                                 f"{str(body.get('error', resp.text))[:200]}")
        return Receipt(str(body["report_id"]), bool(body.get("duplicate")), {"listings": body.get("listings", [])})

    def withdraw(self, report: Report, receipt: str, listing_urls: list[str], reason: str) -> Receipt:
        try:
            resp = self.session.post(f"{self.base}/api/report/{quote(receipt, safe='')}/withdraw",
                                     json={"listings": listing_urls, "reason": reason}, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise TransientError(f"{self.platform.name} intake unreachable: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"{self.platform.name} intake answered {resp.status_code}")
        if resp.status_code != 200:
            raise PermanentError(f"{self.platform.name} intake refused the withdrawal: HTTP {resp.status_code} "
                                 f"{resp.text[:200]}")
        return Receipt(receipt, False, {"withdrawn": listing_urls})

    def find_receipt(self, report: Report) -> Receipt | None:
        try:
            resp = self.session.get(f"{self.base}/api/reports", timeout=TIMEOUT)
            resp.raise_for_status()
            received = resp.json()
        except Refused as exc:
            raise PermanentError(f"{self.platform.name} report list refused by the outbound policy: "
                                 f"{exc.reason}") from None
        except (requests.RequestException, ValueError) as exc:
            raise TransientError(f"{self.platform.name} report list unavailable: {type(exc).__name__}") from None
        for item in received:
            if item.get("idempotency_key") == report.idempotency_key:
                return Receipt(str(item["report_id"]), True, {"listings": item.get("listings", [])})
        return None

    def check(self, listing: ListingRef) -> CheckResult:
        return fetch_check(self.session, listing.url, self.platform.removed)

    def close(self) -> None:
        self.session.close()
