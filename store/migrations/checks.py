"""Steps adding the check API's decision log, shared indicators and the search audit (listed in __init__.py).

- ``check_decisions`` — the sampled log of check decisions (every block and review, a sample of allows):
  the key that asked, the decision, label, score, matches and the listing as sent.
- ``indicators`` — bank entries imported from other parties (STIX bundles) or exported from here:
  type (contact, link, seller, domain, signature), value, source, confidence, first/last seen.
  Imported ones feed the banks and the review queue; they never confirm anything.
- ``indicator_hits`` — a stored listing that matched an imported indicator (shown with its source).
- ``search_audits`` / ``search_audit_queries`` — each `sweep audit-search` and, per platform and query
  (keyword, variant kind, the query text), results, harmful results, harmful on the first page.
"""
from __future__ import annotations

import sqlite_utils



def levers_001_check_decisions_indicators(db: sqlite_utils.Database) -> None:
    db["check_decisions"].create({"id": int, "at": str, "api_key": str, "via": str, "decision": str,
                                  "label": str, "score": float, "matches": str, "listing": str, "sampled": int},
                                 pk="id")
    db["check_decisions"].create_index(["at"])
    db["check_decisions"].create_index(["decision", "at"])
    db["indicators"].create({"id": int, "type": str, "value": str, "source": str, "confidence": int,
                             "first_seen": str, "last_seen": str, "stix_id": str, "label": str,
                             "imported_at": str}, pk="id", not_null={"type", "value", "source"})
    db["indicators"].create_index(["type", "value", "source"], unique=True)
    db["indicator_hits"].create({"listing_id": str, "indicator_id": int, "source": str, "matched_at": str},
                                pk=("listing_id", "indicator_id"),
                                foreign_keys=[("listing_id", "listings", "id"), ("indicator_id", "indicators", "id")])


def levers_002_search_audits(db: sqlite_utils.Database) -> None:
    db["search_audits"].create({"id": int, "started_at": str, "finished_at": str, "platforms": str, "queries": int},
                               pk="id")
    db["search_audit_queries"].create({"id": int, "audit_id": int, "platform": str, "keyword": str, "variant": str,
                                       "query": str, "results": int, "harmful": int, "harmful_first_page": int,
                                       "error": str}, pk="id", foreign_keys=[("audit_id", "search_audits", "id")])
    db["search_audit_queries"].create_index(["audit_id", "platform"])
