"""The managers' numbers: funnel stages, removal rate, time to removal, relist rate."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import metrics as dashboard
from store.db import open_db
from review.queue import Review
from store.states import transition
from store.listings import Store
from review.web.charts import bars
from tests.fixtures_review import flagged_listing as item

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def walk(db, listing_id, *states, hours=None):
    """Confirm a flagged listing, then move it through ``states``; ``removed`` comes ``hours`` after ``reported``."""
    Review(db).confirm(listing_id, "alice", "modem_pool")
    with db.conn:
        for state in states:
            at = T0 + timedelta(hours=hours) if state == "removed" else T0
            transition(db.conn, listing_id, state, "takedown", state, at=at)


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "dash.db")
    store = Store(db)
    store.write_batch([item(str(i)) for i in range(1, 9)] +
                      [item(str(i), platform="forum", kind="forum") for i in range(1, 4)], run_id=None)
    benign = item("99")
    benign.classification = {**benign.classification, "flagged": False, "label": "benign"}
    store.write_batch([benign], run_id=None)
    walk(db, "marketplace:1", "reported", "removed", hours=2)
    walk(db, "marketplace:2", "reported", "removed", hours=10)
    walk(db, "marketplace:3", "reported", "removed", hours=4)
    walk(db, "marketplace:4", "reported", "still_live")
    walk(db, "marketplace:5")
    Review(db).reject("marketplace:6", "bob", "not a harassment tool")
    walk(db, "forum:1", "reported", "removed", hours=1)
    with db.conn:       # a relist of marketplace:1 came back as a new listing
        db.execute("UPDATE listings SET state = 'new' WHERE id = 'marketplace:7'")
        transition(db.conn, "marketplace:7", "relisted", "takedown", "same seller and contact as marketplace:1")
    return db


def test_every_funnel_stage_counts_listings_that_got_at_least_that_far(db):
    stages = dashboard.stage_counts(db)
    assert stages[""] == {"crawled": 12, "flagged": 11, "confirmed": 6, "reported": 5, "removed": 4}
    assert stages["marketplace"] == {"crawled": 9, "flagged": 8, "confirmed": 5, "reported": 4, "removed": 3}
    assert stages["forum"] == {"crawled": 3, "flagged": 3, "confirmed": 1, "reported": 1, "removed": 1}


def test_removal_rate_median_time_and_relist_rate_per_platform(db):
    rows = {r["platform"]: r for r in dashboard.platform_rows(db)}
    market = rows["marketplace"]
    assert market["removal_rate"] == pytest.approx(3 / 4)
    assert market["median_hours"] == pytest.approx(4.0)
    assert market["timed"] == 3
    assert market["relisted"] == 1 and market["relist_rate"] == pytest.approx(1 / 3)
    assert rows["forum"]["median_hours"] == pytest.approx(1.0) and rows["forum"]["relist_rate"] == 0
    everything = rows[""]
    assert everything["median_hours"] == pytest.approx(3.0)        # median of 1, 2, 4, 10
    assert everything["removal_rate"] == pytest.approx(4 / 5)


def test_an_empty_database_has_no_rates_rather_than_errors(tmp_path):
    rows = dashboard.platform_rows(open_db(tmp_path / "empty.db"))
    assert rows == [{"platform": "", "crawled": 0, "flagged": 0, "confirmed": 0, "reported": 0, "removed": 0,
                     "removal_rate": None, "median_hours": None, "timed": 0, "relisted": 0, "relist_rate": None}]


def test_listing_timestamps_win_over_the_audit_log_when_kept(db):
    # The takedown area records reported_at/removed_at on listings; older rows only have the audit log.
    for column in ("reported_at", "removed_at"):
        if column not in db["listings"].columns_dict:
            db["listings"].add_column(column, str)
    with db.conn:
        db.execute("UPDATE listings SET reported_at = '2026-11-27T00:00:00+00:00', "
                   "removed_at = '2026-11-28T00:00:00+00:00' WHERE id = 'marketplace:2'")
    hours = sorted(dashboard.removal_hours(db)["marketplace"])
    assert hours == [2.0, 4.0, 24.0]


def test_review_activity_counts_decisions_per_reviewer(db):
    activity = dashboard.review_activity(db)
    assert activity["waiting"] == 4          # marketplace:7 relisted, :8, forum:2, forum:3
    assert activity["reviewers"][0] == {"reviewer": "alice", "confirmed": 6, "rejected": 0}
    assert {"reviewer": "bob", "confirmed": 0, "rejected": 1} in activity["reviewers"]


def test_bars_scale_to_the_largest_value_or_a_fixed_maximum():
    chart = bars([("a", 10, "10"), ("b", 5, "5"), ("c", None, "–"), ("d", 0, "0")])
    assert [r["width"] for r in chart["rows"]] == [chart["width"], chart["width"] // 2, 0, 0]
    assert [r["y"] for r in chart["rows"]] == [0, 26, 52, 78] and chart["height"] == 104
    assert bars([("rate", 0.25, "25%")], maximum=1.0)["rows"][0]["width"] == 90
    assert bars([])["height"] > 0
