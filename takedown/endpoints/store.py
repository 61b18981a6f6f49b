"""Abused endpoints grouped by owning domain, across repositories and their versions.

``collect`` reads the config files a crawl attached to code-host listings (``extra.attachments``,
profile key ``listing.attachments``) of listings labelled as bombers, and records each endpoint
once per repository with the listing versions and times it was seen in. ``domains`` is the table
``sweep endpoints`` prints: per domain its endpoints, the repositories citing it, first/last seen,
and the notification's state — filed, notified (the report was sent), acknowledged, and how many
repositories still listed it in a version seen after the notice.
"""
from __future__ import annotations

import json

from common.clock import SYSTEM, iso
from store.db import open_db
from takedown.endpoints.extract import extract

BOMBERS = ("sms_bomber", "call_bomber")
MAX_PER_DOMAIN = 200        # endpoints shown per domain (the table is for people)


def collect(db, clock=SYSTEM) -> dict:
    """Record the endpoints of every bomber repository's attached config files; returns counts."""
    counts = {"listings": 0, "files": 0, "endpoints": 0, "unreadable": 0}
    marks = ", ".join("?" * len(BOMBERS))
    rows = db.execute(f"SELECT id, extra, version, last_seen FROM listings WHERE kind = 'code' AND label IN ({marks}) "
                      "AND coalesce(state, 'new') != 'rejected' ORDER BY id", list(BOMBERS)).fetchall()
    now = iso(clock.now())
    with db.conn:
        # Derived data: a repository a reviewer rejected, or no longer labelled a bomber, cites nothing.
        db.execute(f"DELETE FROM endpoint_sightings WHERE listing_id IN (SELECT id FROM listings WHERE "
                   f"coalesce(state, 'new') = 'rejected' OR coalesce(label, '') NOT IN ({marks}))", list(BOMBERS))
        for lid, extra, version, seen in rows:
            try:
                files = (json.loads(extra or "{}") or {}).get("attachments") or []
            except (ValueError, AttributeError):
                counts["unreadable"] += 1
                continue
            counts["listings"] += 1
            seen = seen or now
            for f in files:
                if not isinstance(f, dict) or not isinstance(f.get("text"), str):
                    counts["unreadable"] += 1
                    continue
                counts["files"] += 1
                for ep in extract(f["text"]):
                    counts["endpoints"] += 1
                    db.execute(
                        "INSERT INTO endpoint_sightings (domain, host, path, description, listing_id, first_version, "
                        "last_version, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (listing_id, host, path) DO UPDATE SET "
                        "last_version = max(last_version, excluded.last_version), "
                        "last_seen = max(last_seen, excluded.last_seen), "
                        "description = coalesce(nullif(excluded.description, ''), description)",
                        [ep.domain, ep.host, ep.path, ep.description, lid, version, version, seen, seen])
                    db.execute("INSERT OR IGNORE INTO endpoint_domains (domain) VALUES (?)", [ep.domain])
    return counts


def domains(db) -> list[dict]:
    """One row per owning domain, most-cited first."""
    out = []
    for d in db.query(
            "SELECT s.domain, count(DISTINCT s.host || s.path) AS endpoints, "
            "count(DISTINCT s.listing_id) AS repositories, "
            "min(s.first_seen) AS first_seen, max(s.last_seen) AS last_seen, d.contact, d.contact_source, "
            "d.contact_error, d.report_id, d.filed_at, r.state AS report_state, r.sent_at AS notified_at, "
            "d.acknowledged_at FROM endpoint_sightings s JOIN endpoint_domains d ON d.domain = s.domain "
            "LEFT JOIN reports r ON r.id = d.report_id GROUP BY s.domain "
            "ORDER BY repositories DESC, endpoints DESC, s.domain"):
        d["still_listed"] = (db.execute(
            "SELECT count(DISTINCT listing_id) FROM endpoint_sightings WHERE domain = ? AND last_seen > ?",
            [d["domain"], d["notified_at"]]).fetchone()[0] if d["notified_at"] else None)
        d["endpoint_list"] = endpoints_of(db, d["domain"])
        d["repository_urls"] = [r[0] for r in db.execute(
            "SELECT DISTINCT l.url FROM endpoint_sightings s JOIN listings l ON l.id = s.listing_id "
            "WHERE s.domain = ? ORDER BY l.url", [d["domain"]])]
        out.append(d)
    return out


def endpoints_of(db, domain: str) -> list[dict]:
    """The distinct endpoints under ``domain``: host, path, the tools' description, repositories citing it."""
    return [dict(zip(("host", "path", "description", "repositories"), r)) for r in db.execute(
        "SELECT host, path, max(description), count(DISTINCT listing_id) FROM endpoint_sightings WHERE domain = ? "
        "GROUP BY host, path ORDER BY host, path LIMIT ?", [domain, MAX_PER_DOMAIN])]


def owner_contact(db, domain: str) -> str | None:
    """The security/abuse address an endpoint-abuse report for ``domain`` goes to (None if none found)."""
    if "endpoint_domains" not in db.table_names():
        return None
    row = db.execute("SELECT contact FROM endpoint_domains WHERE domain = ?", [domain]).fetchone()
    return row[0] if row else None


def acknowledge(db, domain: str, note: str = "", clock=SYSTEM) -> bool:
    """Record that ``domain``'s owner acknowledged the report; False if the domain is unknown."""
    with db.conn:
        cur = db.execute("UPDATE endpoint_domains SET acknowledged_at = ?, ack_note = ? WHERE domain = ?",
                         [iso(clock.now()), note, domain.lower()])
    return bool(cur.rowcount)


def collect_into(db_path, clock=SYSTEM) -> dict:
    """``collect`` on the database at ``db_path``, with the number of owning domains now known."""
    db = open_db(db_path)
    try:
        counts = collect(db, clock)
        return {**counts, "domains": len(domains(db))}
    finally:
        db.close()
