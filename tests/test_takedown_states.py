"""The listing state machine: every allowed transition works, everything else is refused."""
from __future__ import annotations

import itertools

import pytest

from store.db import open_db
from store.states import STATES, TRANSITIONS, IllegalTransition, check, transition


@pytest.mark.parametrize("current, target", list(itertools.product(STATES, STATES)))
def test_only_declared_transitions_are_allowed(current, target):
    if target in TRANSITIONS[current]:
        check(current, target)
    else:
        with pytest.raises(IllegalTransition, match=f"cannot go from '{current}' to '{target}'"):
            check(current, target)


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
