"""The first steps: platforms, runs, sellers, listings and their versions, classifications, contacts,
the search index, listing states and the append-only audit log (listed in __init__.py)."""
from __future__ import annotations

import sqlite_utils


def m001_initial(db: sqlite_utils.Database) -> None:
    db["platforms"].create({"name": str, "kind": str, "base_url": str, "profile_path": str, "enabled": int,
                            "first_seen": str}, pk="name")
    db["crawl_runs"].create({"id": int, "started_at": str, "finished_at": str, "outcome": str,
                             "platforms": str, "stats": str, "pid": int}, pk="id")
    db["sellers"].create({"id": str, "platform": str, "seller_id": str, "name": str, "url": str,
                          "first_seen": str, "last_seen": str}, pk="id")
    db["listings"].create({
        "id": str, "platform": str, "platform_id": str, "kind": str, "url": str, "title": str,
        "description": str, "price": float, "seller_id": str, "images": str, "extra": str,
        "content_hash": str, "version": int, "first_seen": str, "last_seen": str, "last_run_id": int,
        "state": str, "label": str, "score": float, "flagged": int,
    }, pk="id", foreign_keys=[("seller_id", "sellers", "id")], defaults={"state": "new", "version": 1})
    db["listings"].create_index(["platform"])
    db["listings"].create_index(["flagged", "score"])
    db["listings"].create_index(["seller_id"])
    db["listing_versions"].create({"id": int, "listing_id": str, "version": int, "content_hash": str,
                                   "title": str, "description": str, "price": float, "seen_at": str,
                                   "run_id": int}, pk="id", foreign_keys=[("listing_id", "listings", "id")])
    db["listing_versions"].create_index(["listing_id", "version"], unique=True)
    db["classifications"].create({"id": int, "listing_id": str, "version": int, "model_version": str,
                                  "label": str, "score": float, "flagged": int, "scores": str,
                                  "explanation": str, "classified_at": str}, pk="id",
                                 foreign_keys=[("listing_id", "listings", "id")])
    db["classifications"].create_index(["listing_id", "version"])
    db["contacts"].create({"id": int, "type": str, "value": str}, pk="id")
    db["contacts"].create_index(["type", "value"], unique=True)
    db["listing_contacts"].create({"listing_id": str, "contact_id": int}, pk=("listing_id", "contact_id"),
                                  foreign_keys=[("listing_id", "listings", "id"), ("contact_id", "contacts", "id")])
    # Search: jieba-free, exact-substring-capable index (see store/search.py for why).
    db.execute("CREATE VIRTUAL TABLE listing_fts USING fts5(listing_id UNINDEXED, tokens, tokenize='unicode61')")


def m002_run_tracking(db: sqlite_utils.Database) -> None:
    """Which run first saw a listing, and fast 'seen since' queries for rechecks."""
    db["listings"].add_column("first_run_id", int)
    db.execute("UPDATE listings SET first_run_id = last_run_id WHERE first_run_id IS NULL")
    db["listings"].create_index(["last_seen"])


def m003_states_and_audit(db: sqlite_utils.Database) -> None:
    """When a listing's state last changed, and the append-only audit log (who, what, when, why)."""
    db["listings"].add_column("state_changed_at", str)
    db["listings"].create_index(["state"])
    db["audit_log"].create({"id": int, "at": str, "actor": str, "action": str, "listing_id": str,
                            "detail": str}, pk="id")
    db["audit_log"].create_index(["listing_id"])
    db.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    db.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def m004_price_as_shown(db: sqlite_utils.Database) -> None:
    """The price as the page shows it, with its currency and unit (``price`` stays the amount)."""
    for table in ("listings", "listing_versions"):
        for column in ("price_text", "currency", "price_unit"):
            db[table].add_column(column, str)
