"""The step adding jargon terms proposed to and approved by reviewers (the classifier's term list)."""
from __future__ import annotations

import sqlite_utils



def m100_terms(db: sqlite_utils.Database) -> None:
    db["terms"].create({"term": str, "score": float, "confirmed_count": int, "other_count": int,
                        "status": str, "proposed_at": str, "decided_by": str, "decided_at": str,
                        "version": int}, pk="term", defaults={"status": "proposed"})
    db["term_versions"].create({"version": int, "created_at": str, "created_by": str, "terms": str},
                               pk="version")
