"""The report outbox: report rows committed before anything is sent, one per (channel, seller, level).

    confirmed/escalated listings ──plan_reports──► reports (pending) ──takedown/delivery.py──► reports (sent)
                                   one transaction                     one transaction after the receipt

A report row (with its listings, the evidence each cites and a fresh idempotency key) is committed
before anything is sent; delivery marks it sent in the same transaction that moves its listings to
``reported``. A listing is planned once per (channel, platform, escalation level); a seller's listings
are bundled up to the channel's ``max_bundle``. What the report cites, where it goes and which step of
the ladder comes next are takedown/policy.py's; this module only keeps the rows.

    [reports]  max_attempts = 8, backoff_seconds = 60, max_backoff_seconds = 21600, quick_retries = 2,
               capture_evidence = true, require_evidence = true
    [reporter] org, contact, domain — who the reports say they are from
"""
from __future__ import annotations

import uuid
from collections import defaultdict

from common.clock import SYSTEM, iso
from common.config import Config
from takedown.channels import (CHANNELS, EvidenceRef, ListingRef, NotConfigured, PlatformSettings, Report,
                               build_channel)
from takedown.endpoints.store import endpoints_of
from takedown.escalation import current_level
from takedown.files import resolve_path
from takedown.platforms import ENDPOINT_PREFIX, platform_settings
from takedown.policy import DEFAULT_REPORTER, bundle_category, citations, steps
from store.txn import immediate

ACTOR = "sweep-report"

def outbox_settings(config: Config) -> dict:
    """``[reports]``: retries, backoff and whether evidence is captured/required before filing."""
    s = config.section("reports")
    return {"max_attempts": int(s.get("max_attempts", 8)), "backoff": float(s.get("backoff_seconds", 60)),
            "max_backoff": float(s.get("max_backoff_seconds", 6 * 3600)),
            "quick_retries": int(s.get("quick_retries", 2)),
            "capture_evidence": bool(s.get("capture_evidence", True)),
            "require_evidence": bool(s.get("require_evidence", True))}


def label_sql(db) -> str:
    """SQL for a listing's category: the reviewer's (latest confirming review), else the model's."""
    if "reviews" not in db.table_names():
        return "l.label"
    return ("coalesce((SELECT rv.category FROM reviews rv WHERE rv.listing_id = l.id AND rv.decision = 'confirmed' "
            "AND rv.category IS NOT NULL ORDER BY rv.decided_at DESC, rv.id DESC LIMIT 1), l.label)")


# -- planning ----------------------------------------------------------------------------------
def plan_reports(db, config: Config, clock=SYSTEM, db_path=None, notes: dict | None = None) -> int:
    """Commit pending reports for confirmed (level 0) and escalated (next level) listings; returns rows made."""
    notes = notes if notes is not None else {}
    require_evidence = outbox_settings(config)["require_evidence"]
    now = iso(clock.now())
    made = 0
    with immediate(db) as conn:
        rows = conn.execute(
            f"SELECT l.id, l.platform, l.seller_id, {label_sql(db)}, l.state, "
            "(SELECT e.id FROM evidence e WHERE e.listing_id = l.id ORDER BY e.version DESC, e.id DESC LIMIT 1) "
            "FROM listings l WHERE l.state IN ('confirmed', 'escalated') ORDER BY l.platform, l.seller_id, l.id"
        ).fetchall()
        groups: dict[tuple, list] = defaultdict(list)
        channels_of: dict[tuple, list] = {}
        settings_of: dict[str, PlatformSettings] = {}
        for lid, platform, seller, label, state, evidence_id in rows:
            if require_evidence and evidence_id is None:
                notes.setdefault("waiting_for_evidence", []).append(lid)
                continue
            if platform not in settings_of:
                settings_of[platform] = platform_settings(db, config, platform)
            ps = settings_of[platform]
            level = 0 if state == "confirmed" else current_level(conn, lid) + 1
            for channel in steps(ps, level):
                key = (channel, platform, level)
                if key not in channels_of:
                    channels_of[key] = _available(channel, ps, config, db_path, notes)
                if not channels_of[key]:
                    continue
                taken = conn.execute(
                    "SELECT 1 FROM reports r JOIN report_listings rl ON rl.report_id = r.id WHERE rl.listing_id = ? "
                    "AND r.channel = ? AND r.escalation_level = ? AND r.platform = ?",
                    [lid, channel, level, platform]).fetchone()     # not an endpoint-abuse report citing it
                if not taken:
                    groups[(channel, platform, level, seller or lid)].append((lid, label, evidence_id))
        for (channel, platform, level, seller), items in groups.items():
            size = CHANNELS[channel].max_bundle
            for start in range(0, len(items), size):
                chunk = items[start:start + size]
                cur = conn.execute(
                    "INSERT INTO reports (channel, platform, seller_id, category, idempotency_key, state, attempts, "
                    "created_at, escalation_level) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    [channel, platform, seller if seller not in {i[0] for i in chunk} else None,
                     bundle_category([i[1] for i in chunk]), f"sweep-{uuid.uuid4().hex}", now, level])
                for lid, _, evidence_id in chunk:
                    conn.execute("INSERT INTO report_listings (report_id, listing_id, evidence_id) VALUES (?, ?, ?)",
                                 [cur.lastrowid, lid, evidence_id])
                made += 1
    return made


def _available(channel: str, ps: PlatformSettings, config: Config, db_path, notes: dict) -> bool:
    try:
        build_channel(channel, ps, config, db_path).close()
        return True
    except NotConfigured as exc:
        notes.setdefault("not_configured", {})[f"{channel}@{ps.name}"] = str(exc)
        return False


# -- a report as a channel sees it ---------------------------------------------------------------
def load_report(db, report_id: int, db_path, config: Config) -> Report:
    r = next(iter(db.query("SELECT * FROM reports WHERE id = ?", [report_id])), None)
    if r is None:
        raise KeyError(f"no report {report_id}")
    listings = []
    for row in db.query(
            f"SELECT l.id, l.platform, l.platform_id, l.url, l.title, {label_sql(db)} AS label, l.score, l.seller_id, "
            "l.description, "
            "l.kind, s.name AS seller_name, e.id AS eid, e.captured_at, e.url AS eurl, e.http_status, e.wacz_path, "
            "e.wacz_sha256, e.response_sha256, e.screenshot_path, e.screenshot_sha256 "
            "FROM report_listings rl JOIN listings l ON l.id = rl.listing_id LEFT JOIN sellers s ON s.id = l.seller_id "
            "LEFT JOIN evidence e ON e.id = rl.evidence_id WHERE rl.report_id = ? ORDER BY l.id", [report_id]):
        evidence = None
        if row["eid"]:
            evidence = EvidenceRef(row["eid"], row["captured_at"], row["eurl"], row["http_status"],
                                   resolve_path(db_path, row["wacz_path"]), row["wacz_sha256"], row["response_sha256"],
                                   resolve_path(db_path, row["screenshot_path"]), row["screenshot_sha256"])
        listings.append(ListingRef(row["id"], row["platform"], row["platform_id"], row["url"], row["title"] or "",
                                   row["label"], row["score"], row["seller_id"], row["seller_name"],
                                   row["description"] or "", row["kind"] or "", evidence))
    seller_name = listings[0].seller_name if listings and r["seller_id"] else None
    abused = []
    if r["platform"].startswith(ENDPOINT_PREFIX):           # the repositories are evidence; the domain is reported
        seller_name, abused = r["seller_id"], endpoints_of(db, r["platform"][len(ENDPOINT_PREFIX):])
    return Report(r["id"], r["idempotency_key"], r["channel"], r["platform"], r["category"] or "other",
                  r["escalation_level"] or 0, listings, citations([i.label for i in listings if i.label]),
                  r["created_at"], r["seller_id"], seller_name,
                  {**DEFAULT_REPORTER, **config.section("reporter")}, max(1, r["attempts"] or 0), abused)


# -- the outbox as people see it -----------------------------------------------------------------
def retry_failed(db, clock=SYSTEM) -> int:
    """Put failed reports back in the outbox (after fixing what made them fail)."""
    with immediate(db) as conn:
        cur = conn.execute("UPDATE reports SET state = 'pending', attempts = 0, next_attempt_at = NULL, "
                           "error = 'retry requested ' || ? || ': ' || coalesce(error, '') WHERE state = 'failed' "
                           "AND coalesce(error, '') NOT LIKE 'cancelled:%'", [iso(clock.now())])
        return cur.rowcount


LISTED = ("pending", "sent", "failed")      # the reports `sweep report --list` shows


def _in_states(states: tuple) -> str:
    """The filter report_rows() and report_count() share, so the count is of what the list shows."""
    return f"state IN ({', '.join('?' * len(states))})"


def report_rows(db, states: tuple = LISTED, limit: int | None = None) -> list[dict]:
    """Reports with their listing count, newest first (for `sweep report --list`); at most ``limit``."""
    return [dict(r) for r in db.query(
        f"SELECT r.*, (SELECT count(*) FROM report_listings rl WHERE rl.report_id = r.id) AS listings FROM reports r "
        f"WHERE r.{_in_states(states)} ORDER BY r.id DESC"
        + (" LIMIT ?" if limit else ""), [*states, *([limit] if limit else [])])]


def report_count(db, states: tuple = LISTED) -> int:
    """How many reports report_rows() would list without a limit."""
    return db.execute(f"SELECT count(*) FROM reports WHERE {_in_states(states)}", list(states)).fetchone()[0]
