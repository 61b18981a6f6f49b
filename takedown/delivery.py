"""Delivery: send what the outbox holds, exactly once where the channel allows it.

A crash between sending and marking sent leaves a ``pending`` row with ``attempts > 0``; the next
run first asks the channel for a receipt under that key (``ReceiptLookup``) and otherwise resends
with the same key, which idempotent channels (platform intakes, exports) fold into the first report.
SMTP cannot be asked, so an e-mail in that window may be sent twice — with the same Message-ID (and
``X-Sweep-Attempt`` counting up), which the receiving desk can dedupe.

Transient failures are retried a few times at once, then with exponential backoff
(``next_attempt_at``); permanent ones mark the report ``failed`` with the error (``sweep report
--retry-failed`` puts them back). Sends are spaced per channel and platform (takedown/policy.py
``RateLimiter``, ``rate_limit_per_minute``). Reports containing a relisted listing go first.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from common.clock import SYSTEM, iso
from common.config import Config
from store.states import transition
from takedown.channels import (Channel, NotConfigured, PermanentError, PlatformSettings, Receipt, ReceiptLookup,
                               Report, TransientError, build_channel)
from takedown.outbox import ACTOR, load_report, outbox_settings
from takedown.platforms import platform_settings
from takedown.policy import RateLimiter
from store.txn import immediate

log = logging.getLogger(__name__)


def _mark_sent(db, report: Report, receipt: Receipt, clock) -> None:
    now = clock.now()
    with immediate(db) as conn:
        conn.execute("UPDATE reports SET state = 'sent', sent_at = ?, receipt = ?, error = NULL, "
                     "next_attempt_at = NULL WHERE id = ? AND state = 'pending'",
                     [iso(now), receipt.receipt, report.id])
        for item in report.listings:
            state = conn.execute("SELECT state FROM listings WHERE id = ?", [item.id]).fetchone()[0]
            # Only a report to the listing's own platform reports it (not an endpoint-abuse report citing it).
            if state in ("confirmed", "escalated") and item.platform == report.platform:
                transition(conn, item.id, "reported", ACTOR,
                           f"report {report.id} via {report.channel}: {receipt.receipt}", at=now,
                           detail={"report_id": report.id, "channel": report.channel,
                                   "escalation_level": report.escalation_level})
                conn.execute("UPDATE listings SET reported_at = ? WHERE id = ?", [iso(now), item.id])


def _mark_retry(db, report_id: int, attempts: int, error: str, clock, cfg: dict,
                retry_after: float | None = None) -> str:
    if attempts >= cfg["max_attempts"]:
        with immediate(db) as conn:
            conn.execute("UPDATE reports SET state = 'failed', error = ?, next_attempt_at = NULL WHERE id = ?",
                         [f"gave up after {attempts} attempts: {error}"[:500], report_id])
        return "failed"
    delay = min(cfg["max_backoff"], cfg["backoff"] * 2 ** (attempts - 1))
    delay = max(delay, retry_after or 0)
    with immediate(db) as conn:
        conn.execute("UPDATE reports SET error = ?, next_attempt_at = ? WHERE id = ?",
                     [error[:500], iso(clock.now() + timedelta(seconds=delay)), report_id])
    return "retrying"


def _drop_withdrawn(db, report_id: int) -> bool:
    """Before the first attempt, take out listings rejected by a reviewer or confirmed removed since; False if
    none remain (the report is then cancelled)."""
    with immediate(db) as conn:
        # Correlated: one primary-key lookup per listing of the report, not every rejected/removed id per report.
        conn.execute("DELETE FROM report_listings WHERE report_id = ? AND EXISTS (SELECT 1 FROM listings l "
                     "WHERE l.id = report_listings.listing_id AND l.state IN ('rejected', 'removed'))", [report_id])
        left = conn.execute("SELECT count(*) FROM report_listings WHERE report_id = ?", [report_id]).fetchone()[0]
        if not left:
            conn.execute("UPDATE reports SET state = 'failed', error = 'cancelled: every listing was rejected or "
                         "removed before sending' WHERE id = ?", [report_id])
    return bool(left)


def send_one(db, report_id: int, channel: Channel, clock, cfg: dict, db_path, config: Config) -> str:
    """One attempt (plus quick retries) at one pending report: sent | recovered | retrying | failed | cancelled."""
    for quick in range(cfg["quick_retries"] + 1):
        row = db.execute("SELECT attempts, state FROM reports WHERE id = ?", [report_id]).fetchone()
        if row is None or row[1] != "pending":
            return "skipped"
        previous = row[0]
        if previous == 0 and not _drop_withdrawn(db, report_id):
            return "cancelled"
        # Count the attempt before it happens: after a crash, attempts > 0 means "may have been sent".
        with immediate(db) as conn:           # a report a reviewer emptied since (undo) is not sent
            counted = conn.execute("UPDATE reports SET attempts = attempts + 1 WHERE id = ? AND state = 'pending' AND "
                                   "EXISTS (SELECT 1 FROM report_listings WHERE report_id = ?)", [report_id, report_id])
            if not counted.rowcount:
                return "skipped"
        report = load_report(db, report_id, db_path, config)
        try:
            if previous > 0 and isinstance(channel, ReceiptLookup):
                found = channel.find_receipt(report)
                if found is not None:
                    _mark_sent(db, report, found, clock)
                    return "recovered"
            receipt = channel.file(report)
        except PermanentError as exc:
            with immediate(db) as conn:
                conn.execute("UPDATE reports SET state = 'failed', error = ?, next_attempt_at = NULL WHERE id = ?",
                             [str(exc)[:500], report_id])
            return "failed"
        except TransientError as exc:
            if quick < cfg["quick_retries"] and previous + 1 < cfg["max_attempts"] and (exc.retry_after or 0) <= 5:
                clock.sleep(exc.retry_after or 0.5 * (quick + 1))
                continue
            return _mark_retry(db, report_id, previous + 1, str(exc), clock, cfg, exc.retry_after)
        except Exception as exc:         # a bug in one report must not stop the batch; it stays visible
            log.exception("report %s: unexpected error", report_id)
            return _mark_retry(db, report_id, previous + 1, f"{type(exc).__name__}: {exc}", clock, cfg)
        _mark_sent(db, report, receipt, clock)
        return "recovered" if receipt.duplicate and previous > 0 else "sent"
    return "retrying"


def send_pending(db, config: Config, clock=SYSTEM, db_path=None, summary: dict | None = None) -> dict:
    """Send every pending report that is due, relists first; returns counts by outcome."""
    summary = summary if summary is not None else {}
    cfg = outbox_settings(config)
    now = iso(clock.now())
    due = db.execute(
        "SELECT r.id, r.channel, r.platform FROM reports r WHERE r.state = 'pending' "
        "AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?) ORDER BY "
        "EXISTS (SELECT 1 FROM report_listings rl JOIN relists x ON x.listing_id = rl.listing_id "
        "WHERE rl.report_id = r.id) DESC, r.escalation_level DESC, r.id", [now]).fetchall()
    limiter = RateLimiter(clock)
    channels: dict[tuple, Channel | None] = {}
    settings_of: dict[str, PlatformSettings] = {}
    try:
        for report_id, channel_name, platform in due:
            key = (channel_name, platform)
            if key not in channels:
                settings_of.setdefault(platform, platform_settings(db, config, platform))
                try:
                    channels[key] = build_channel(channel_name, settings_of[platform], config, db_path)
                except NotConfigured as exc:
                    channels[key] = None
                    summary.setdefault("not_configured", {})[f"{channel_name}@{platform}"] = str(exc)
            channel = channels[key]
            if channel is None:
                continue
            if channel.rate_limited:
                limiter.wait(key, settings_of[platform].rate_limit_per_minute)
            outcome = send_one(db, report_id, channel, clock, cfg, db_path, config)
            summary[outcome] = summary.get(outcome, 0) + 1
    finally:
        for channel in channels.values():
            if channel:
                channel.close()
    return summary
