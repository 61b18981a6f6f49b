"""Steps adding reviews and claims, and moving reviewer accounts to their own file (listed in __init__.py)."""
from __future__ import annotations

import sqlite_utils

from store.accounts import move_accounts_out


def review_001_users_reviews_claims(db: sqlite_utils.Database) -> None:
    """Reviewer accounts, every review decision, and the short-lived claims that keep two
    reviewers off the same listing."""
    # sessions_valid_after: sessions started before it are refused (set by disable/passwd).
    db["users"].create({"name": str, "role": str, "password_hash": str, "created_at": str, "disabled": int,
                        "sessions_valid_after": str}, pk="name", defaults={"disabled": 0})
    db["reviews"].create({"id": int, "listing_id": str, "version": int, "reviewer": str, "decision": str,
                          "category": str, "reason": str, "decided_at": str, "bulk": int}, pk="id",
                         foreign_keys=[("listing_id", "listings", "id")], defaults={"bulk": 0})
    db["reviews"].create_index(["listing_id"])
    db["reviews"].create_index(["reviewer", "decided_at"])
    db["claims"].create({"listing_id": str, "reviewer": str, "claimed_at": str, "expires_at": str},
                        pk="listing_id", foreign_keys=[("listing_id", "listings", "id")])
    db["claims"].create_index(["reviewer"])


def review_002_accounts_to_their_own_file(db: sqlite_utils.Database) -> None:
    """Accounts (password hashes) leave the listings database for the 0600 accounts file
    (store/accounts.py). Not one transaction: the copy is committed in the other file
    before the table is dropped here, and the drop is followed by a WAL checkpoint."""
    move_accounts_out(db)
