"""The one state machine every listing follows, with the allowed transitions in one place.

    new ──► flagged ──► confirmed ──► reported ──► removed
     │        │  ▲          │            │  ▲         │
     │        ▼  │          ▼            ▼  │         ▼
     │      rejected ◄──────┘        still_live ──► escalated ──► reported (re-filed)
     ▼
  relisted (a removed listing's seller/contact/text came back) ──► confirmed / rejected

  Taking a decision back: confirmed/rejected ──undo──► flagged while no report has left;
  reported/still_live/escalated ──reopen (with a reason; the report is withdrawn)──► flagged.

Every change goes through ``transition``: it refuses illegal moves and writes the audit
log in the same transaction as the state, so the two can never disagree.
"""
from __future__ import annotations

import json
from datetime import datetime

from common.clock import SYSTEM

STATES = ("new", "flagged", "relisted", "confirmed", "rejected", "reported", "still_live", "escalated", "removed")

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"flagged", "relisted"}),
    "flagged": frozenset({"confirmed", "rejected", "new", "relisted"}),     # new: a changed version reads benign
    "relisted": frozenset({"confirmed", "rejected"}),
    "confirmed": frozenset({"reported", "rejected", "flagged"}),            # rejected: a second reviewer overrules
    "rejected": frozenset({"flagged", "confirmed"}),                        # flagged: a changed version, or undo
    "reported": frozenset({"removed", "still_live", "flagged"}),            # flagged: reopened (report withdrawn)
    "still_live": frozenset({"removed", "escalated", "flagged"}),
    "escalated": frozenset({"reported", "removed", "flagged"}),
    "removed": frozenset({"still_live"}),                                   # it came back at the same address
}


class IllegalTransition(ValueError):
    pass


def check(current: str, target: str) -> None:
    if target not in STATES:
        raise IllegalTransition(f"unknown state {target!r}")
    if target not in TRANSITIONS.get(current, ()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing"
        raise IllegalTransition(f"cannot go from {current!r} to {target!r} (allowed from {current!r}: {allowed})")


def audit(conn, actor: str, action: str, listing_id: str | None, detail: dict | None = None,
          at: datetime | None = None) -> None:
    """Append one row to the audit log (the table refuses UPDATE and DELETE)."""
    conn.execute("INSERT INTO audit_log (at, actor, action, listing_id, detail) VALUES (?, ?, ?, ?, ?)",
                 [(at or SYSTEM.now()).isoformat(timespec="seconds"), actor, action, listing_id,
                  json.dumps(detail or {}, ensure_ascii=False)])


def transition(conn, listing_id: str, target: str, actor: str, reason: str = "",
               at: datetime | None = None, detail: dict | None = None) -> str:
    """Move one listing to ``target``; returns the previous state. Call inside a transaction."""
    row = conn.execute("SELECT state FROM listings WHERE id = ?", [listing_id]).fetchone()
    if row is None:
        raise IllegalTransition(f"no listing {listing_id!r}")
    current = row[0] or "new"
    check(current, target)
    when = (at or SYSTEM.now()).isoformat(timespec="seconds")
    conn.execute("UPDATE listings SET state = ?, state_changed_at = ? WHERE id = ?", [target, when, listing_id])
    audit(conn, actor, f"state:{current}->{target}", listing_id, {"reason": reason, **(detail or {})}, at)
    return current
