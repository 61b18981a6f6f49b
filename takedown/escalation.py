"""When escalation runs out: a listing still live after every step of its platform's ladder
needs a person (a phone call, a contact at the platform, a regulator) — Sweep has nothing
left to send.

``recheck`` records it (``mark_needs_person``, one audit row per stay in ``still_live``);
the queue, the dashboard and ``sweep report`` show ``needing_person``.
"""
from __future__ import annotations

from store.states import audit

ACTION = "needs_person"
HINT = "escalation ran out: a person must contact the platform"
# Still live, and marked so since it last changed state (a reopen or a removal clears it).
_SQL = ("FROM listings l WHERE l.state = 'still_live' AND EXISTS (SELECT 1 FROM audit_log a "
        "WHERE a.listing_id = l.id AND a.action = ? AND a.at >= coalesce(l.state_changed_at, ''))")
# The same, read from the few audit rows of that action (audit_log(action) index), not from every still-live listing.
_MARKED = ("FROM (SELECT DISTINCT listing_id FROM audit_log WHERE action = ?) m CROSS JOIN listings l "
           "ON l.id = m.listing_id" + _SQL[len("FROM listings l"):].replace("WHERE", "AND", 1))


def mark_needs_person(conn, listing_id: str, reason: str, at, actor: str) -> bool:
    """Record once that escalation ran out for a listing; False if it already was."""
    marked = conn.execute(f"SELECT 1 {_SQL} AND l.id = ?", [ACTION, listing_id]).fetchone()
    if marked:
        return False
    audit(conn, actor, ACTION, listing_id, {"reason": f"{reason}; {HINT}"}, at)
    return True


def needing_person(db, limit: int = 50) -> list[dict]:
    """Listings waiting for a person, longest-waiting first."""
    return [dict(r) for r in db.query(
        f"SELECT l.id, l.platform, l.title, l.reported_at, l.state_changed_at {_MARKED} "
        "ORDER BY l.reported_at, l.id LIMIT ?", [ACTION, ACTION, limit])]


def count_needing_person(db) -> int:
    return db.execute(f"SELECT count(*) {_MARKED}", [ACTION, ACTION]).fetchone()[0]


def current_level(conn, listing_id: str) -> int:
    """The highest escalation level a report for the listing was sent at (-1: none sent yet)."""
    row = conn.execute("SELECT max(r.escalation_level) FROM reports r JOIN report_listings rl ON rl.report_id = r.id "
                       "WHERE rl.listing_id = ? AND r.state = 'sent'", [listing_id]).fetchone()
    return row[0] if row and row[0] is not None else -1
