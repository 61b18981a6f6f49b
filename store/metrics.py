"""What managers see: the takedown funnel, removal rate and time to removal, relist rate.

The funnel counts how far each listing has got through the state machine, so every stage
is a subset of the one before it: crawled (every listing) → flagged (entered review) →
confirmed (a reviewer agreed; rejected listings stop at flagged) → reported → removed.

Time to removal is ``removed_at - reported_at`` from the listings table, over each platform's
latest 500 removals (so the figure stays current and costs the same at any size); where those are
missing (an older schema, or rows from before they were kept) the audit log's first
transition to ``reported`` and last to ``removed`` stand in. Relist rate is the share of
removed listings that came back under a new id (the ``relists`` table once it has rows,
else listings that entered ``relisted``).
"""
from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import sqlite_utils

from common.clock import SYSTEM

RECENT_REMOVALS = 500          # per platform: the median of its latest removals
STAGES = ("crawled", "flagged", "confirmed", "reported", "removed")
STAGE_OF_STATE = {"new": 0, "flagged": 1, "relisted": 1, "rejected": 1, "confirmed": 2, "reported": 3,
                  "still_live": 3, "escalated": 3, "removed": 4}


def _parse(ts: str | None) -> datetime | None:
    try:
        when = datetime.fromisoformat(ts) if ts else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _has(db: sqlite_utils.Database, table: str, *columns: str) -> bool:
    t = db[table]
    return t.exists() and all(c in t.columns_dict for c in columns)


def stage_counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """{platform: {stage: listings that reached it}}, plus "" for all platforms together."""
    out: dict[str, dict[str, int]] = {"": dict.fromkeys(STAGES, 0)}
    # listing_counts is kept by triggers on listings (store/migrations/scale.py): a few rows at any size.
    for platform, state, n in db.execute("SELECT platform, state, sum(n) FROM listing_counts GROUP BY 1, 2 "
                                         "HAVING sum(n) > 0"):
        reached = STAGE_OF_STATE.get(state, 0)
        for key in ("", platform):
            counts = out.setdefault(key, dict.fromkeys(STAGES, 0))
            for stage in STAGES[:reached + 1]:
                counts[stage] += n
    return out


def removal_hours(db: sqlite_utils.Database) -> dict[str, list[float]]:
    """{platform: hours from report to removal, one per removed listing (its latest RECENT_REMOVALS)}."""
    reported = "(SELECT min(a.at) FROM audit_log a WHERE a.listing_id = l.id AND a.action LIKE '%->reported')"
    removed = "(SELECT max(a.at) FROM audit_log a WHERE a.listing_id = l.id AND a.action LIKE '%->removed')"
    if _has(db, "listings", "reported_at", "removed_at"):
        reported, removed = f"coalesce(l.reported_at, {reported})", f"coalesce(l.removed_at, {removed})"
    out: dict[str, list[float]] = {}
    # Per platform, its latest RECENT_REMOVALS removals through a covering (state, platform, removed_at) index:
    # the figure stays current and its cost fixed however many removals the years add.
    platforms = [r[0] for r in db.execute("SELECT DISTINCT platform FROM listing_counts WHERE state = 'removed' "
                                          "AND n > 0")] if db["listing_counts"].exists() else [None]
    for name in platforms:
        where = "l.state = 'removed'" + (" AND l.platform = ?" if name is not None else "")
        for platform, start, end in db.execute(f"SELECT l.platform, {reported}, {removed} FROM listings l "
                                               f"WHERE {where} ORDER BY l.removed_at DESC LIMIT ?",
                                               [*([name] if name is not None else []), RECENT_REMOVALS]):
            start, end = _parse(start), _parse(end)
            if start and end and end >= start:
                out.setdefault(platform, []).append((end - start).total_seconds() / 3600)
    return out


def relisted_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """{platform: removed listings that came back under a new id}."""
    if _has(db, "relists", "listing_id", "relisted_from") and db.execute("SELECT 1 FROM relists LIMIT 1").fetchone():
        sql = "SELECT platform, n FROM relist_counts WHERE n > 0"      # kept by triggers on relists
    else:   # before the takedown area links relists, every listing that entered `relisted` is one
        sql = ("SELECT l.platform, count(DISTINCT l.id) FROM audit_log a CROSS JOIN listings l ON l.id = a.listing_id "
               "WHERE a.action LIKE '%->relisted' GROUP BY l.platform")
    return dict(db.execute(sql))


def platform_rows(db: sqlite_utils.Database) -> list[dict]:
    """One row per platform (and "" for all): funnel, removal rate, median hours to removal, relist rate."""
    stages = stage_counts(db)
    hours = removal_hours(db)
    hours[""] = [h for values in hours.values() for h in values]
    relisted = relisted_counts(db)
    relisted[""] = sum(relisted.values())
    rows = []
    for platform in sorted(stages, key=lambda p: (p == "", p)):
        counts = stages[platform]
        removed, reported = counts["removed"], counts["reported"]
        times = hours.get(platform, [])
        rows.append({"platform": platform, **counts,
                     "removal_rate": removed / reported if reported else None,
                     "median_hours": statistics.median(times) if times else None,
                     "timed": len(times),
                     "relisted": relisted.get(platform, 0),
                     "relist_rate": relisted.get(platform, 0) / removed if removed else None})
    return rows


def review_activity(db: sqlite_utils.Database, now: datetime | None = None, days: int = 7) -> dict:
    """Queue size, the longest wait, and decisions per reviewer over the last ``days``."""
    now = now or SYSTEM.now()
    waiting = db.execute("SELECT coalesce(sum(n), 0) FROM listing_counts WHERE state IN ('flagged', 'relisted')"
                         ).fetchone()[0]
    oldest = db.execute("SELECT min(coalesce(state_changed_at, first_seen)) FROM listings "
                        "INDEXED BY listings_queue_waiting WHERE state IN ('flagged', 'relisted')").fetchone()[0]
    since = (now - timedelta(days=days)).isoformat(timespec="seconds")
    reviewers = list(db.query(
        "SELECT reviewer, sum(decision = 'confirmed') AS confirmed, sum(decision = 'rejected') AS rejected "
        "FROM reviews INDEXED BY idx_reviews_decided_at WHERE decided_at >= ? "
        "GROUP BY reviewer ORDER BY count(*) DESC, reviewer", [since]))
    oldest_at = _parse(oldest)
    return {"waiting": waiting, "oldest": oldest,
            "oldest_hours": (now - oldest_at).total_seconds() / 3600 if oldest_at else None,
            "days": days, "reviewers": reviewers}


def progress_counts(db_path) -> dict[str, int]:
    """Evidence packages, handled reports and rechecks so far, read on a read-only connection of its
    own, so a progress bar can poll them while another connection writes."""
    import sqlite3
    from pathlib import Path

    con = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True, timeout=1)
    try:
        return {name: con.execute(sql).fetchone()[0] or 0 for name, sql in (
            ("evidence", "SELECT count(*) FROM evidence"),
            ("reports_handled", "SELECT count(*) FROM reports WHERE state != 'pending'"),
            ("rechecks", "SELECT count(*) FROM rechecks"))}
    finally:
        con.close()
