"""File one endpoint-abuse report per owning domain through the report outbox.

A report row (channel ``[endpoints] channel``, default ``email``; platform ``endpoint:<domain>``;
the domain as its "seller") bundles the repositories citing the domain, each with its latest
evidence, and is sent by the ordinary outbox (``sweep report`` / the cycle) to the contact found
(takedown/endpoints/contact.py). Its idempotency key is derived from the domain, so a domain is
reported exactly once however often this runs; a domain without a contact is retried next time.
"""
from __future__ import annotations

from collections import Counter

from common.clock import SYSTEM, iso
from takedown.endpoints.contact import ContactFinder

PLATFORM_PREFIX = "endpoint:"
CATEGORY = "endpoint_abuse"


def idempotency_key(domain: str) -> str:
    return f"sweep-endpoint-{domain}"


def notify(db, settings: dict, clock=SYSTEM, finder: ContactFinder | None = None) -> dict:
    """Find contacts and file reports for every domain not yet reported; returns counts."""
    finder = finder or ContactFinder(settings)
    channel = settings.get("channel", "email")
    counts = Counter()
    pending = [r[0] for r in db.execute(
        "SELECT domain FROM endpoint_domains d WHERE report_id IS NULL AND EXISTS "
        "(SELECT 1 FROM endpoint_sightings s WHERE s.domain = d.domain) ORDER BY domain")]
    for domain in pending:
        now = iso(clock.now())
        contact = finder.find(domain)
        with db.conn:
            db.execute("UPDATE endpoint_domains SET contact = ?, contact_source = ?, contact_error = ?, "
                       "contact_checked_at = ? WHERE domain = ?",
                       [contact.address, contact.source, contact.error or None, now, domain])
        if not contact.address:
            counts["no_contact"] += 1
            continue
        counts["filed" if file_report(db, domain, channel, now) else "already_filed"] += 1
    return dict(counts)


def file_report(db, domain: str, channel: str, now: str) -> bool:
    """Commit the report for ``domain`` (False if its key was already used: exactly once)."""
    with db.conn:
        repos = db.execute(
            "SELECT DISTINCT s.listing_id, l.label, (SELECT e.id FROM evidence e WHERE e.listing_id = s.listing_id "
            "ORDER BY e.version DESC, e.id DESC LIMIT 1) "
            "FROM endpoint_sightings s JOIN listings l ON l.id = s.listing_id "
            "WHERE s.domain = ? ORDER BY s.listing_id", [domain]).fetchall()
        if not repos:
            return False
        cur = db.execute(
            "INSERT OR IGNORE INTO reports (channel, platform, seller_id, category, idempotency_key, state, attempts, "
            "created_at, escalation_level) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, 0)",
            [channel, PLATFORM_PREFIX + domain, domain, CATEGORY, idempotency_key(domain), now])
        if not cur.rowcount:
            report_id = db.execute("SELECT id FROM reports WHERE idempotency_key = ?",
                                   [idempotency_key(domain)]).fetchone()[0]
            db.execute("UPDATE endpoint_domains SET report_id = ? WHERE domain = ?", [report_id, domain])
            return False
        for lid, _, evidence_id in repos:
            db.execute("INSERT INTO report_listings (report_id, listing_id, evidence_id) VALUES (?, ?, ?)",
                       [cur.lastrowid, lid, evidence_id])
        db.execute("UPDATE endpoint_domains SET report_id = ?, filed_at = ? WHERE domain = ?",
                   [cur.lastrowid, now, domain])
    return True
