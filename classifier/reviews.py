"""Reviewer decisions as training labels (`sweep train --with-reviews`).

A reviewer's latest decision on a listing is ground truth: confirmed → the category they
chose (reviews.category), rejected → benign. Only the text the reviewer saw (that version) is used.
"""
from __future__ import annotations

from . import LABELS

_CONFIRM = {"confirm", "confirmed"}
_REJECT = {"reject", "rejected"}


def review_rows(db) -> list[dict]:
    """Labelled rows (corpus format) from the database's `reviews` table; [] if there is none."""
    if "reviews" not in db.table_names():
        return []
    sql = """
        SELECT r.listing_id, r.decision, r.category, l.kind, l.price,
               coalesce(v.title, l.title) AS title, coalesce(v.description, l.description) AS description
        FROM reviews r
        JOIN listings l ON l.id = r.listing_id
        LEFT JOIN listing_versions v ON v.listing_id = r.listing_id AND v.version = r.version
        WHERE r.id = (SELECT max(id) FROM reviews WHERE listing_id = r.listing_id)
    """
    rows = []
    for r in db.query(sql):
        decision = (r["decision"] or "").lower()
        if decision in _CONFIRM and r["category"] in LABELS and r["category"] != "benign":
            label = r["category"]
        elif decision in _REJECT:
            label = "benign"
        else:
            continue
        rows.append({"id": f"review:{r['listing_id']}", "label": label, "kind": r["kind"] or "ecommerce",
                     "title": r["title"] or "", "description": r["description"] or "", "price": r["price"],
                     "tactics": [], "hard_negative": None})
    return rows
