"""The review queue, claims and decisions, on a real SQLite file."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from store.db import open_db
from review.queue import ClaimedByOther, NotReviewable, Review, ReviewError
from store.states import transition
from store.listings import Store
from tests.fixtures_review import flagged_listing as item

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "review.db")
    Store(db).write_batch([
        item("1", 0.95), item("2", 0.80, seller="s2", description="猫池 QQ 123456789"),
        item("3", 0.99, label="call_bomber", platform="forum", kind="forum"),
        item("4", 0.70, seller="s2", description="十六口猫池 QQ 123456789"),
        item("5", 0.60, seller="s1", crawled_at="2026-11-26T00:00:00+00:00"),
    ], run_id=None)
    return db


def review(db, clock=None, timeout=600):
    return Review(db, claim_timeout=timeout, clock=clock or Clock())


def ids(rows):
    return [r["id"].split(":")[1] for r in rows]


def test_queue_puts_relisted_first_then_score_and_filters(db):
    with db.conn:
        transition(db.conn, "marketplace:5", "relisted", "takedown", "same seller came back")
    r = review(db)
    assert ids(r.queue("alice")) == ["5", "3", "1", "2", "4"]
    assert ids(r.queue("alice", {"platform": "marketplace"})) == ["5", "1", "2", "4"]
    assert ids(r.queue("alice", {"label": "call_bomber"})) == ["3"]
    assert ids(r.queue("alice", {"kind": "forum", "label": "modem_pool"})) == []
    assert r.queue_size("alice", {"platform": "marketplace"}) == 4
    assert r.facets()["platform"] == ["forum", "marketplace"]


def test_queue_breaks_score_ties_by_waiting_time(db):
    with db.conn:
        db.execute("UPDATE listings SET score = 0.5")
        db.execute("UPDATE listings SET state_changed_at = '2026-11-20T00:00:00+00:00' WHERE id = 'marketplace:4'")
    assert ids(review(db).queue("alice"))[0] == "4"


def test_a_claimed_listing_leaves_other_reviewers_queues_until_the_claim_expires(db):
    clock = Clock()
    alice, bob = review(db, clock, timeout=300), review(db, clock, timeout=300)
    claim = alice.claim("forum:3", "alice")
    assert claim["expires_at"] == "2026-11-27T12:05:00+00:00"
    assert "3" in ids(alice.queue("alice"))            # still in the holder's own queue
    assert "3" not in ids(bob.queue("bob"))
    with pytest.raises(ClaimedByOther, match="alice") as err:
        bob.claim("forum:3", "bob")
    assert err.value.reviewer == "alice"
    assert bob.claim_next("bob") == "marketplace:1"     # the next one, not alice's
    clock.now = T0 + timedelta(seconds=301)
    assert bob.claim("forum:3", "bob")["reviewer"] == "bob"
    assert alice.claim_of("forum:3")["reviewer"] == "bob"


def test_each_reviewer_holds_one_claim_at_a_time(db):
    r = review(db)
    r.claim("marketplace:1", "alice")
    r.claim("marketplace:2", "alice")
    assert r.claim_of("marketplace:1") is None
    assert r.claim_of("marketplace:2")["reviewer"] == "alice"
    r.release("marketplace:2", "bob")                   # not bob's to release
    assert r.claim_of("marketplace:2")["reviewer"] == "alice"
    r.release("marketplace:2", "alice")
    assert r.claim_of("marketplace:2") is None


def test_two_reviewers_racing_for_one_listing_cannot_both_win(db, tmp_path):
    path = tmp_path / "review.db"
    winners, losers = [], []
    barrier = threading.Barrier(4)

    def grab(name):
        r = Review(open_db(path, migrate=False))
        barrier.wait()
        try:
            r.claim("forum:3", name)
            winners.append(name)
        except ClaimedByOther:
            losers.append(name)
        finally:
            r.db.close()

    threads = [threading.Thread(target=grab, args=(f"reviewer{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(winners) == 1 and len(losers) == 3
    assert review(db).claim_of("forum:3")["reviewer"] == winners[0]


def test_confirm_moves_the_state_records_the_review_and_audits(db):
    r = review(db)
    r.claim("marketplace:1", "alice")
    r.confirm("marketplace:1", "alice", "modem_pool", note="  八口 猫池,  sold as a set ")
    assert db.execute("SELECT state FROM listings WHERE id = 'marketplace:1'").fetchone()[0] == "confirmed"
    row = db.execute("SELECT reviewer, decision, category, reason, version, bulk FROM reviews").fetchone()
    assert row == ("alice", "confirmed", "modem_pool", "八口 猫池, sold as a set", 1, 0)
    actor, action, detail = db.execute("SELECT actor, action, detail FROM audit_log WHERE listing_id = "
                                       "'marketplace:1' ORDER BY id DESC LIMIT 1").fetchone()
    assert (actor, action) == ("alice", "state:flagged->confirmed")
    assert json.loads(detail) == {"reason": "confirmed as modem_pool: 八口 猫池, sold as a set",
                                  "category": "modem_pool", "model_label": "modem_pool"}
    assert r.claim_of("marketplace:1") is None
    assert "1" not in ids(r.queue("bob"))


def test_reject_needs_a_reason_and_records_it(db):
    r = review(db)
    with pytest.raises(ReviewError, match="reason is required"):
        r.reject("marketplace:2", "alice", "   ")
    with pytest.raises(ReviewError, match="too long"):
        r.reject("marketplace:2", "alice", "x" * 501)
    r.reject("marketplace:2", "alice", "legitimate telecom equipment")
    assert db.execute("SELECT state FROM listings WHERE id = 'marketplace:2'").fetchone()[0] == "rejected"
    assert db.execute("SELECT decision, reason FROM reviews").fetchone() == ("rejected", "legitimate telecom equipment")
    assert db.execute("SELECT actor, json_extract(detail, '$.reason') FROM audit_log WHERE action = "
                      "'state:flagged->rejected'").fetchone() == ("alice", "legitimate telecom equipment")


def test_decisions_are_refused_when_someone_else_holds_the_listing_or_it_was_decided(db):
    r = review(db)
    r.claim("marketplace:1", "alice")
    with pytest.raises(ClaimedByOther):
        r.confirm("marketplace:1", "bob", "modem_pool")
    with pytest.raises(ReviewError, match="unknown category"):
        r.confirm("marketplace:1", "alice", "benign")
    r.confirm("marketplace:1", "alice", "modem_pool")
    with pytest.raises(NotReviewable, match="already confirmed"):
        r.reject("marketplace:1", "alice", "changed my mind")
    with pytest.raises(NotReviewable):
        r.claim("marketplace:1", "bob")
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


def test_a_seller_is_decided_in_bulk_skipping_what_others_hold(db):
    r = review(db)
    r.claim("marketplace:4", "bob")
    result = r.decide_seller("marketplace:s2", "root", "confirm",
                             ["marketplace:2", "marketplace:4", "marketplace:1", "marketplace:2"])
    assert result["decided"] == ["marketplace:2"]
    skipped = dict(result["skipped"])
    assert "bob" in skipped["marketplace:4"] and skipped["marketplace:1"] == "not this seller's listing"
    rows = db.execute("SELECT listing_id, reviewer, bulk FROM reviews").fetchall()
    assert rows == [("marketplace:2", "root", 1)]
    detail = db.execute("SELECT detail FROM audit_log WHERE action = 'state:flagged->confirmed'").fetchone()[0]
    assert json.loads(detail)["bulk_seller"] == "marketplace:s2"
    with pytest.raises(ReviewError, match="reason is required"):
        r.decide_seller("marketplace:s1", "root", "reject", ["marketplace:1"])


def test_neighbours_follow_the_queue_order(db):
    r = review(db)
    assert r.neighbours("marketplace:1", "alice") == ("forum:3", "marketplace:2")
    assert r.neighbours("forum:3", "alice") == (None, "marketplace:1")
    assert r.neighbours("marketplace:5", "alice") == ("marketplace:4", None)
    r.confirm("marketplace:1", "alice", "modem_pool")
    assert r.neighbours("marketplace:1", "alice") == (None, "forum:3")   # not in the queue any more


def test_listing_detail_links_the_seller_and_shared_contacts(db):
    detail = review(db).listing("marketplace:2")
    assert detail["seller_name"] == "店s2"
    assert [x["id"] for x in detail["seller_listings"]] == ["marketplace:4"]
    assert [(x["id"], x["shared"]) for x in detail["contact_listings"]] == [("marketplace:4", "qq 123456789")]
    assert detail["contacts"] == [{"type": "qq", "value": "123456789"}]
    assert detail["classification"]["explanation"][0]["feature"] == "猫池"
    assert detail["history"][0]["action"] == "state:new->flagged"
    assert review(db).listing("marketplace:404") is None


def test_audit_entries_filter_by_listing_and_actor(db):
    r = review(db)
    r.confirm("marketplace:1", "alice", "modem_pool")
    r.reject("marketplace:2", "bob", "duplicate of another listing")
    assert [e["action"] for e in r.audit_entries(actor="bob")] == ["state:flagged->rejected"]
    entries = r.audit_entries(listing_id="marketplace:1")
    assert [e["actor"] for e in entries] == ["alice", "classifier"]       # newest first
    assert len(r.audit_entries(limit=2)) == 2


# -- issue 13: bulk categories per row, undo and reopen, search, needs a person ----------------
@pytest.fixture
def mixed(tmp_path):
    """One seller whose listings the model labels three different ways (and one benign)."""
    db = open_db(tmp_path / "mixed.db")
    Store(db).write_batch([item("11", 0.9, seller="mix", label="call_bomber"),
                           item("12", 0.9, seller="mix", label="sms_bomber"),
                           item("13", 0.9, seller="mix", label="voice_gateway"),
                           item("14", 0.9, seller="mix", label="benign")], run_id=None)
    return db


def test_bulk_confirm_keeps_each_listings_own_category_unless_a_row_changes_it(mixed):
    r = review(mixed)
    ids_ = [f"marketplace:{n}" for n in ("11", "12", "13", "14")]
    result = r.decide_seller("marketplace:mix", "root", "confirm", ids_, categories={"marketplace:13": "modem_pool"})
    assert result["decided"] == ids_[:3]
    assert dict(result["skipped"]) == {"marketplace:14": "choose a category for it (the model did not name one)"}
    assert mixed.execute("SELECT listing_id, category FROM reviews ORDER BY listing_id").fetchall() == [
        ("marketplace:11", "call_bomber"), ("marketplace:12", "sms_bomber"), ("marketplace:13", "modem_pool")]
    # The one that differs from the model is marked in the seller page and the audit log.
    listings = {x["id"]: x for x in r.seller("marketplace:mix")["listings"]}
    assert listings["marketplace:13"]["decided_category"] == "modem_pool"
    assert listings["marketplace:13"]["label"] == "voice_gateway"
    marked = {e["listing_id"]: e["differs_from"]
              for e in r.audit_entries() if e["action"] == "state:flagged->confirmed"}
    assert marked == {"marketplace:11": None, "marketplace:12": None, "marketplace:13": "voice_gateway"}
    with pytest.raises(ReviewError, match="unknown category 'benign'"):
        r.decide_seller("marketplace:mix", "root", "confirm", ["marketplace:14"],
                        categories={"marketplace:14": "benign"})


def _report(db, listing_id, state="pending", attempts=0):
    cur = db.execute("INSERT INTO reports (channel, platform, idempotency_key, state, attempts, receipt) "
                     "VALUES ('sandbox_intake', 'marketplace', ?, ?, ?, 'MA000001')",
                     [f"k-{listing_id}-{state}-{attempts}", state, attempts])
    db.execute("INSERT INTO report_listings (report_id, listing_id) VALUES (?, ?)", [cur.lastrowid, listing_id])
    db.conn.commit()
    return cur.lastrowid


def test_undo_puts_a_decision_back_until_its_report_is_sent(db):
    r = review(db)
    r.confirm("marketplace:1", "alice", "modem_pool")
    pending = _report(db, "marketplace:1")
    r.undo("marketplace:1", "alice", "wrong category")
    assert db.execute("SELECT state FROM listings WHERE id = 'marketplace:1'").fetchone()[0] == "flagged"
    assert "1" in ids(r.queue("bob"))
    # the waiting report lost its only listing, so it is cancelled and never sent
    assert db.execute("SELECT state, error FROM reports WHERE id = ?", [pending]).fetchone() == (
        "failed", "cancelled: every listing was taken back before sending")
    action, detail = db.execute("SELECT action, detail FROM audit_log WHERE listing_id = 'marketplace:1' "
                                "ORDER BY id DESC LIMIT 1").fetchone()
    assert action == "state:confirmed->flagged"
    assert json.loads(detail)["reason"] == "undo: wrong category"
    # the undone decision is no longer a training label
    from classifier.reviews import review_rows
    assert "review:marketplace:1" not in {x["id"] for x in review_rows(db)}
    r.reject("marketplace:2", "alice", "not enough evidence")
    r.undo("marketplace:2", "alice")
    assert db.execute("SELECT state FROM listings WHERE id = 'marketplace:2'").fetchone()[0] == "flagged"
    # a report that was attempted (it may have reached the platform) can no longer be undone
    r.confirm("marketplace:4", "alice", "modem_pool")
    _report(db, "marketplace:4", attempts=1)
    with pytest.raises(NotReviewable, match="being sent"):
        r.undo("marketplace:4", "alice")
    with pytest.raises(NotReviewable, match="only a confirmed or rejected"):
        r.undo("marketplace:5", "alice")


def test_reopen_after_sending_needs_a_reason_and_asks_for_a_withdrawal(db):
    r = review(db)
    r.confirm("marketplace:1", "alice", "modem_pool")
    sent = _report(db, "marketplace:1", state="sent")
    with db.conn:
        transition(db.conn, "marketplace:1", "reported", "sweep-report", "filed")
    with pytest.raises(NotReviewable, match="reopen it instead"):
        r.undo("marketplace:1", "alice")
    with pytest.raises(ReviewError, match="reason is required"):
        r.reopen("marketplace:1", "root", " ")
    assert r.reopen("marketplace:1", "root", "the seller showed a licence") == [sent]
    assert db.execute("SELECT state FROM listings WHERE id = 'marketplace:1'").fetchone()[0] == "flagged"
    assert db.execute("SELECT report_id, listing_id, reason, requested_by, state FROM withdrawals").fetchall() == [
        (sent, "marketplace:1", "the seller showed a licence", "root", "pending")]
    detail = json.loads(db.execute(
        "SELECT detail FROM audit_log WHERE action = 'state:reported->flagged'").fetchone()[0])
    assert detail["reason"] == "reopened: the seller showed a licence" and detail["withdraw_reports"] == [sent]


def test_the_queue_search_matches_title_seller_and_contact_as_plain_text(db):
    r = review(db)
    assert ids(r.queue("alice", {"q": "123456789"})) == ["2", "4"]          # a contact value
    assert ids(r.queue("alice", {"q": "店S2"})) == ["2", "4"]                # the seller's name, any case
    assert ids(r.queue("alice", {"q": "猫池 3"})) == ["3"]                    # the title
    assert r.queue("alice", {"q": "%"}) == [] and r.queue_size("alice", {"q": "_"}) == 0   # no wildcards
