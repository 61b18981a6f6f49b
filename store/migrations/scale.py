"""Steps of issue #15 (scale): indexes that fit each page's query, and counters kept by triggers.

- ``listings_queue*`` — partial indexes over the review queue only (``flagged``/``relisted``), in
  queue order, so a page of the queue, its next/previous and its keyset pagination read 50 index
  entries, not the queue. The order key is ``review.queue.QUEUE_KEY``; the query must spell the
  partial index's WHERE literally (``state IN ('flagged', 'relisted')``) for SQLite to use it.
- ``listing_counts`` — how many listings each (state, platform, label, kind, flagged) holds, kept by triggers
  on ``listings`` in the same transaction as every insert, state change, relabel or delete, so the
  queue size, its filter lists, the dashboard funnel and ``sweep stats`` read a few dozen rows at any size.
- ``relist_counts`` — removed listings that came back, per platform, kept by triggers on ``relists``.
- ``relist_signatures`` / ``relist_bands`` / ``relist_progress`` — the persistent MinHash LSH index of
  taken-down listings and how far relist matching has read (``takedown/relist.py``).
"""
from __future__ import annotations

import sqlite_utils


_QUEUE = "WHERE state IN ('flagged', 'relisted')"
_KEY = "(state != 'relisted'), -coalesce(score, 0), coalesce(state_changed_at, first_seen), id"
_GROUP = ("coalesce({t}.state, 'new'), coalesce({t}.platform, ''), coalesce({t}.label, ''), "
          "coalesce({t}.kind, ''), coalesce({t}.flagged, 0)")


def _bump(row: str, delta: str) -> str:
    return (f"INSERT INTO listing_counts (state, platform, label, kind, flagged, n) VALUES ({_GROUP.format(t=row)}, "
            f"{delta}) ON CONFLICT (state, platform, label, kind, flagged) DO UPDATE SET n = n + {delta};")


def scale_001_indexes_and_counters(db: sqlite_utils.Database) -> None:
    db.execute(f"CREATE INDEX listings_queue ON listings ({_KEY}) {_QUEUE}")
    db.execute(f"CREATE INDEX listings_queue_platform ON listings (platform, {_KEY}) {_QUEUE}")
    db.execute(f"CREATE INDEX listings_queue_label ON listings (label, {_KEY}) {_QUEUE}")
    db.execute(f"CREATE INDEX listings_queue_waiting ON listings (coalesce(state_changed_at, first_seen)) {_QUEUE}")
    db.execute("CREATE INDEX listings_state_score ON listings (state, score DESC, id)")    # evidence: best first
    db.execute("CREATE INDEX listings_state_reported ON listings (state, reported_at, id)")  # needs a person, rechecks
    db["reviews"].create_index(["decided_at"], if_not_exists=True)     # the dashboard's decisions of the last days
    db["listing_contacts"].create_index(["contact_id"], if_not_exists=True)
    db["audit_log"].create_index(["actor"], if_not_exists=True)       # /audit?actor= newest first (id follows)
    db["listings"].create_index(["state", "removed_at", "platform", "reported_at"], if_not_exists=True)  # covering
    db.execute("CREATE TABLE listing_counts (state TEXT NOT NULL, platform TEXT NOT NULL, label TEXT NOT NULL, "
               "kind TEXT NOT NULL, flagged INTEGER NOT NULL, n INTEGER NOT NULL, "
               "PRIMARY KEY (state, platform, label, kind, flagged))")
    db.execute(f"INSERT INTO listing_counts SELECT {_GROUP.format(t='listings')}, count(*) FROM listings "
               "GROUP BY 1, 2, 3, 4, 5")
    db.execute(f"CREATE TRIGGER listing_counts_insert AFTER INSERT ON listings BEGIN {_bump('NEW', '1')} END")
    db.execute(f"CREATE TRIGGER listing_counts_delete AFTER DELETE ON listings BEGIN {_bump('OLD', '-1')} END")
    db.execute("CREATE TRIGGER listing_counts_update "
               "AFTER UPDATE OF state, platform, label, kind, flagged ON listings "
               f"WHEN ({_GROUP.format(t='OLD')}) IS NOT ({_GROUP.format(t='NEW')}) "
               f"BEGIN {_bump('OLD', '-1')} {_bump('NEW', '1')} END")
    db.execute("CREATE TABLE relist_signatures (listing_id TEXT PRIMARY KEY REFERENCES listings(id), "
               "params TEXT NOT NULL, version INTEGER, signature BLOB NOT NULL)")
    db.execute("CREATE TABLE relist_bands (band INTEGER NOT NULL, hash INTEGER NOT NULL, listing_id TEXT NOT NULL)")
    db.execute("CREATE INDEX relist_bands_lookup ON relist_bands (band, hash)")
    db.execute("CREATE INDEX relist_bands_listing ON relist_bands (listing_id)")
    db.execute("CREATE TABLE relist_progress (name TEXT PRIMARY KEY, value TEXT)")


def scale_002_relist_counts(db: sqlite_utils.Database) -> None:
    """Removed listings that came back, per platform of the removed one (distinct origins), for the dashboard."""
    db.execute("CREATE TABLE relist_counts (platform TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute("INSERT INTO relist_counts SELECT l.platform, count(DISTINCT r.relisted_from) FROM relists r "
               "CROSS JOIN listings l ON l.id = r.relisted_from GROUP BY l.platform")
    for event, row, delta in (("INSERT", "NEW", 1), ("DELETE", "OLD", -1)):
        db.execute(f"CREATE TRIGGER relist_counts_{event.lower()} AFTER {event} ON relists "
                   f"WHEN NOT EXISTS (SELECT 1 FROM relists x WHERE x.relisted_from = {row}.relisted_from "
                   f"AND x.listing_id != {row}.listing_id) BEGIN "
                   f"INSERT INTO relist_counts (platform, n) SELECT coalesce(platform, ''), {delta} FROM listings "
                   f"WHERE id = {row}.relisted_from ON CONFLICT (platform) DO UPDATE SET n = n + {delta}; END")


def scale_003_audit_action(db: sqlite_utils.Database) -> None:
    """Listings needing a person are found from their few ``needs_person`` audit rows (takedown/escalation.py)."""
    db["audit_log"].create_index(["action", "listing_id"], if_not_exists=True)


def scale_004_removals_by_platform(db: sqlite_utils.Database) -> None:
    """The dashboard's time to removal reads each platform's latest removals from this covering index."""
    db["listings"].create_index(["state", "platform", "removed_at", "reported_at"], if_not_exists=True)
