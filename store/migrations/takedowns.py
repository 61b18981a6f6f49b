"""Steps adding the takedown tables (listed in __init__.py).

Tables (the reviewer dashboard reads these names and columns):

- ``evidence`` — one immutable capture per listing version: the WACZ package (raw HTTP
  exchange + full-page screenshot as WARC records) and the screenshot beside it, with SHA-256
  digests. Paths are relative to the database's directory unless the evidence directory is
  elsewhere (then absolute). UPDATE and DELETE are refused by triggers.
- ``reports`` — the outbox: a row is committed ``pending`` before anything is sent and
  marked ``sent`` (with the channel's ``receipt``) after; ``idempotency_key`` is what the
  channel dedupes on, so a resend after a crash is not a second report.
- ``report_listings`` — which listings (and which evidence) a report bundles.
- ``rechecks`` — every re-fetch of a reported listing: live | gone | error, and the signal.
- ``relists`` — a new listing linked to the taken-down one it repeats, and why.
"""
from __future__ import annotations

import sqlite_utils



def takedown_001_evidence_reports_rechecks(db: sqlite_utils.Database) -> None:
    db["evidence"].create({
        "id": int, "listing_id": str, "version": int, "captured_at": str, "url": str,
        "wacz_path": str, "wacz_sha256": str, "response_sha256": str,
        "screenshot_path": str, "screenshot_sha256": str, "http_status": int,
    }, pk="id", foreign_keys=[("listing_id", "listings", "id")])
    db["evidence"].create_index(["listing_id", "version"], unique=True)
    db.execute("CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence "
               "BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END")
    db.execute("CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence "
               "BEGIN SELECT RAISE(ABORT, 'evidence is immutable'); END")

    db["reports"].create({
        "id": int, "channel": str, "platform": str, "seller_id": str, "category": str,
        "idempotency_key": str, "state": str, "attempts": int, "created_at": str, "sent_at": str,
        "receipt": str, "escalation_level": int, "error": str, "next_attempt_at": str,
    }, pk="id", not_null={"channel", "platform", "idempotency_key", "state"},
        defaults={"state": "pending", "attempts": 0, "escalation_level": 0})
    db["reports"].create_index(["idempotency_key"], unique=True)
    db["reports"].create_index(["state", "next_attempt_at"])
    db.execute("CREATE TRIGGER reports_state_check BEFORE UPDATE OF state ON reports "
               "WHEN NEW.state NOT IN ('pending', 'sent', 'failed') "
               "BEGIN SELECT RAISE(ABORT, 'reports.state must be pending, sent or failed'); END")

    db["report_listings"].create({"report_id": int, "listing_id": str, "evidence_id": int},
                                 pk=("report_id", "listing_id"),
                                 foreign_keys=[("report_id", "reports", "id"), ("listing_id", "listings", "id"),
                                               ("evidence_id", "evidence", "id")])
    db["report_listings"].create_index(["listing_id"])

    db["rechecks"].create({"id": int, "listing_id": str, "checked_at": str, "status": str, "signal": str,
                           "http_status": int}, pk="id", foreign_keys=[("listing_id", "listings", "id")])
    db["rechecks"].create_index(["listing_id", "checked_at"])

    db["relists"].create({"listing_id": str, "relisted_from": str, "reason": str, "linked_at": str},
                         pk="listing_id", foreign_keys=[("listing_id", "listings", "id"),
                                                        ("relisted_from", "listings", "id")])
    db["relists"].create_index(["relisted_from"])

    db["listings"].add_column("reported_at", str)
    db["listings"].add_column("removed_at", str)


def takedown_002_withdrawals(db: sqlite_utils.Database) -> None:
    """``withdrawals``: a reviewer reopened a listing after its report was sent; ``sweep report``
    asks the report's channel to withdraw it (``withdrawn``) or records that it cannot
    (``unsupported``: the platform must be contacted by a person)."""
    db["withdrawals"].create({"id": int, "report_id": int, "listing_id": str, "reason": str, "requested_by": str,
                              "requested_at": str, "state": str, "done_at": str, "receipt": str, "error": str},
                             pk="id", not_null={"report_id", "listing_id", "state"}, defaults={"state": "pending"},
                             foreign_keys=[("report_id", "reports", "id"), ("listing_id", "listings", "id")])
    db["withdrawals"].create_index(["state"])
