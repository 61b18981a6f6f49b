"""The listing state machine, checked against tables written here by hand from what each state
means — not read from ``store.states.TRANSITIONS`` — so a wrong edit of that table fails a test."""
from __future__ import annotations

import pytest

from store.db import open_db
from store.states import IllegalTransition, check, transition

# (from, to): why a listing must never make this move.
FORBIDDEN = {
    ("new", "confirmed"): "a person confirms only what the classifier flagged",
    ("new", "reported"): "nothing is reported before a reviewer confirmed it",
    ("new", "removed"): "removal follows a report",
    ("flagged", "reported"): "a flagged listing is reported only once a reviewer confirmed it",
    ("flagged", "removed"): "removal follows a report",
    ("flagged", "still_live"): "only a reported listing can be found still live",
    ("flagged", "escalated"): "only a reported listing can be escalated",
    ("relisted", "reported"): "a relist is reported only once a reviewer confirmed it",
    ("relisted", "removed"): "removal follows a report",
    ("relisted", "new"): "a relist is already known to the crawl",
    ("rejected", "reported"): "a rejected listing is never reported",
    ("rejected", "removed"): "removal follows a report",
    ("rejected", "escalated"): "only a reported listing can be escalated",
    ("rejected", "new"): "a decision is taken back to flagged, not forgotten",
    ("confirmed", "removed"): "removal follows a report",
    ("confirmed", "still_live"): "only a reported listing can be found still live",
    ("confirmed", "escalated"): "escalation follows a missed deadline of a report",
    ("confirmed", "new"): "a decision is taken back to flagged, not forgotten",
    ("reported", "confirmed"): "a sent report is taken back only by reopening (to flagged, withdrawn)",
    ("reported", "rejected"): "a sent report is taken back only by reopening (to flagged, withdrawn)",
    ("reported", "escalated"): "escalation follows a recheck that found it still live",
    ("reported", "new"): "a reported listing is never forgotten",
    ("still_live", "reported"): "re-filing goes through escalation (the next channel on the ladder)",
    ("still_live", "confirmed"): "a sent report is taken back only by reopening",
    ("still_live", "rejected"): "a sent report is taken back only by reopening",
    ("escalated", "still_live"): "an escalated listing is re-filed or found removed",
    ("escalated", "confirmed"): "a sent report is taken back only by reopening",
    ("removed", "flagged"): "a removed listing that comes back is still_live (or a new relisted listing)",
    ("removed", "confirmed"): "a removed listing that comes back is still_live",
    ("removed", "reported"): "a removed listing that comes back is still_live",
    ("removed", "rejected"): "a removed listing is not reviewed again",
    ("removed", "new"): "a removed listing is never forgotten",
    ("removed", "relisted"): "a relist is a new listing; the removed one keeps its state",
    # Staying put is not a transition: it would write an audit row for nothing.
    **{(s, s): "not a move" for s in ("new", "flagged", "relisted", "confirmed", "rejected", "reported",
                                      "still_live", "escalated", "removed")},
}

# A few moves the takedown depends on.
ALLOWED = [
    ("new", "flagged"), ("new", "relisted"), ("flagged", "confirmed"), ("flagged", "rejected"),
    ("relisted", "confirmed"), ("relisted", "rejected"), ("confirmed", "reported"),
    ("confirmed", "flagged"),        # undo before a report left
    ("rejected", "flagged"),         # undo
    ("reported", "removed"), ("reported", "still_live"),
    ("reported", "flagged"),         # reopened with a reason; the report is withdrawn
    ("still_live", "escalated"), ("escalated", "reported"), ("removed", "still_live"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("states") / "s.db")
    db.execute("INSERT INTO listings (id, platform, platform_id, kind, url, title, state) "
               "VALUES ('m:1', 'm', '1', 'ecommerce', 'http://x/item/1', 't', 'new')")
    yield db
    db.close()


def _put(db, state: str) -> None:
    """Place the listing in ``state`` directly (the table under test is not used to get there)."""
    with db.conn:
        db.conn.execute("UPDATE listings SET state = ? WHERE id = 'm:1'", [state])


def _audited(db) -> int:
    return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]


@pytest.mark.parametrize("current, target", sorted(FORBIDDEN))
def test_a_forbidden_move_is_refused_and_changes_nothing(db, current, target):
    with pytest.raises(IllegalTransition, match=f"cannot go from '{current}' to '{target}'"):
        check(current, target)
    _put(db, current)
    before = _audited(db)
    with pytest.raises(IllegalTransition), db.conn:
        transition(db.conn, "m:1", target, "alice", FORBIDDEN[(current, target)])
    assert db.execute("SELECT state FROM listings WHERE id = 'm:1'").fetchone()[0] == current
    assert _audited(db) == before


@pytest.mark.parametrize("current, target", ALLOWED)
def test_an_allowed_move_changes_the_state_and_is_audited(db, current, target):
    _put(db, current)
    before = _audited(db)
    with db.conn:
        assert transition(db.conn, "m:1", target, "alice", "test") == current
    assert db.execute("SELECT state FROM listings WHERE id = 'm:1'").fetchone()[0] == target
    assert _audited(db) == before + 1


def test_the_hand_tables_do_not_contradict_each_other():
    assert not FORBIDDEN.keys() & set(ALLOWED)


@pytest.mark.parametrize("target", ["deleted", "", "Flagged", "removed "])
def test_an_unknown_state_is_refused(target):
    with pytest.raises(IllegalTransition, match="unknown state"):
        check("flagged", target)


def test_the_takedown_path_is_reachable():
    path = ["new", "flagged", "confirmed", "reported", "still_live", "escalated", "reported", "removed"]
    for a, b in zip(path, path[1:]):
        check(a, b)


def test_transition_updates_state_and_audits_atomically(tmp_path):
    db = open_db(tmp_path / "s.db")
    db.execute("INSERT INTO listings (id, platform, platform_id, kind, url, title, state) "
               "VALUES ('m:1', 'm', '1', 'ecommerce', 'http://x/item/1', 't', 'flagged')")
    with db.conn:
        assert transition(db.conn, "m:1", "confirmed", "alice", "sells 猫池") == "flagged"
    with pytest.raises(IllegalTransition):
        with db.conn:
            transition(db.conn, "m:1", "removed", "alice")
    assert db.execute("SELECT state FROM listings").fetchone()[0] == "confirmed"
    rows = db.execute("SELECT actor, action, detail FROM audit_log").fetchall()
    assert rows == [("alice", "state:flagged->confirmed", '{"reason": "sells 猫池"}')]
    with pytest.raises(IllegalTransition, match="no listing"):
        transition(db.conn, "m:404", "flagged", "x")
