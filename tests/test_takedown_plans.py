"""Issue #15: every review page and cycle step reads by index, not by scanning the big tables.

The exact SQL each page runs is captured (``sqlite3`` trace callback on the connection the server
opens per request, through real uvicorn) and its ``EXPLAIN QUERY PLAN`` must not scan ``listings``,
``listing_versions`` or ``classifications`` whole. A scan of the partial ``listings_queue*`` indexes is
allowed: they hold the review queue only, in queue order, and a page stops after 50 entries.
The database comes from the scale benchmark's builder (bench/scale.py) at a small size: without
``ANALYZE`` statistics SQLite plans the same at 3,000 rows as at a million.
"""
from __future__ import annotations

import re

import pytest
import requests

BIG = ("listings", "listing_versions", "classifications")
QUEUE_INDEXES = re.compile(r"USING (COVERING )?INDEX listings_queue\w*\b")
PASSWORD = "plans-password-long"


def full_scans(conn, sql: str, sorts: bool = False) -> list[str]:
    """The plan lines of ``sql`` that scan one of BIG whole (by name or by its alias in ``sql``); with
    ``sorts``, also any sort into a temporary b-tree (a query that sorts all the rows it matched)."""
    names = set(BIG)
    for _table, alias in re.findall(r"\b(listings|listing_versions|classifications)\s+(?:AS\s+)?(\w+)", sql, re.I):
        if alias.upper() not in {"WHERE", "ON", "JOIN", "LEFT", "ORDER", "GROUP", "USING", "SET", "LIMIT", "AND"}:
            names.add(alias)
    bad = []
    for row in conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall():
        detail = row[-1]
        m = re.match(r"SCAN (\w+)", detail)
        if m and m.group(1) in names and not QUEUE_INDEXES.search(detail):
            bad.append(detail)
        if sorts and "TEMP B-TREE" in detail and re.search(r"\bFROM listings\b", sql):
            bad.append(detail)
    return bad


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH", "DELETE", "UPDATE"))]


@pytest.fixture(scope="module")
def scale_db(tmp_path_factory):
    from bench.scale import build
    from store.db import open_db
    from review.users import Users

    path = tmp_path_factory.mktemp("plans") / "sweep.db"
    build(path, 3000)
    db = open_db(path)
    Users(db).add("planner", "admin", PASSWORD, actor="tests")
    db.close()
    return path


@pytest.fixture()
def traced(monkeypatch):
    """Every statement the server's per-request connections run (bound values expanded)."""
    import review.web.app as app

    captured: list[str] = []
    real = app.open_db

    def open_traced(*args, **kwargs):
        db = real(*args, **kwargs)
        db.conn.set_trace_callback(captured.append)
        return db

    monkeypatch.setattr(app, "open_db", open_traced)
    return captured


def test_every_review_page_reads_by_index(scale_db, traced):
    import sqlite3

    from store.db import open_db
    from review.queue import Review
    from review.web import create_app
    from review.web.routes import _cursor_text
    from tests.fixtures_review import serving

    db = open_db(scale_db)
    review = Review(db)
    tail = review.queue("planner", before=(2, 0.0, "", ""), limit=51)
    one = db.execute("SELECT id, platform, label, seller_id FROM listings WHERE state = 'flagged' "
                     "ORDER BY id LIMIT 1 OFFSET 100").fetchone()
    db.close()
    pages = ["/queue", f"/queue?after={_cursor_text(review.key(tail[0]))}&page=2",
             f"/queue?before={_cursor_text(review.key(tail[-1]))}&page=3",
             f"/queue?platform={one[1]}&label={one[2]}", "/queue?kind=forum", "/queue?q=12345",
             f"/listing?id={one[0]}", f"/listing?id={one[0]}&platform={one[1]}", "/dashboard", "/audit",
             "/audit?actor=alice", f"/audit?listing={one[0]}", f"/seller?id={one[3]}"]
    plans = sqlite3.connect(scale_db)
    with serving(create_app(scale_db)) as url:
        session = requests.Session()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url + "/login").text).group(1)
        session.post(url + "/login", data={"csrf_token": csrf, "name": "planner", "password": PASSWORD})
        for page in pages:
            traced.clear()
            response = session.get(url + page)
            assert response.status_code == 200 and "/login" not in response.url, page
            statements = reads(traced)
            assert statements, page
            if page == "/queue":                      # the next page is linked by position, not by offset
                assert re.search(r'href="/queue\?after=[01]~[^"]+page=2"', response.text)
            for sql in statements:
                assert full_scans(plans, sql) == [], f"{page}: {sql}"
                if page.startswith("/queue") and "q=" not in page:     # a queue page never sorts the queue
                    assert full_scans(plans, sql, sorts=True) == [], f"{page}: {sql}"
        for bad in ("nonsense", "1~x~~id", "3~0.5~~id"):
            assert session.get(url + f"/queue?after={bad}").status_code == 400
    plans.close()


def test_queue_pages_are_stable_under_concurrent_decisions(scale_db):
    """Keyset paging: a decision taken on page 1 while a reviewer reads page 2 neither repeats nor skips a row."""
    from store.db import open_db
    from review.queue import Review

    db = open_db(scale_db)
    review = Review(db)
    everything = [r["id"] for r in review.queue("planner", limit=10_000)]
    first = review.queue("planner", limit=50)
    review.claim(first[3]["id"], "bob")
    review.reject(first[3]["id"], "bob", "not a harassment tool")
    second = review.queue("planner", limit=50, after=review.key(first[-1]))
    assert [r["id"] for r in second] == everything[50:100]
    back = review.queue("planner", limit=50, before=review.key(second[0]))
    assert [r["id"] for r in back] == [i for i in everything[:50] if i != first[3]["id"]][-50:]
    assert review.queue_size("planner") == len(everything) - 1            # the counters followed the decision
    db.close()


def test_cycle_steps_read_due_rows_by_index(scale_db):
    from common.clock import ManualClock
    from common.config import Config
    from store.db import open_db
    from takedown.evidence import missing
    from takedown.recheck import due_listings
    from takedown.relist import find_relists, link_relists
    from takedown.delivery import _drop_withdrawn
    from takedown.outbox import load_report, plan_reports

    db = open_db(scale_db)
    clock = ManualClock("2026-12-01T00:00:00+00:00")
    config = Config({"reports": {"require_evidence": False}})
    link_relists(db, config, clock)                  # the first run reads every waiting listing (once)
    captured: list[str] = []
    db.conn.set_trace_callback(captured.append)
    plan_reports(db, config, clock)
    with db.conn:                                    # a pending report of two confirmed listings
        report = db.conn.execute("INSERT INTO reports (channel, platform, idempotency_key, state) "
                                 "VALUES ('sandbox_intake', 'marketplace', 'plans-1', 'pending')").lastrowid
        db.conn.execute("INSERT INTO report_listings (report_id, listing_id) SELECT ?, id FROM listings "
                        "WHERE state = 'confirmed' ORDER BY id LIMIT 2", [report])
    due_listings(db, config, clock)
    missing(db, limit=50)
    _drop_withdrawn(db, report)                      # what sending runs per report
    load_report(db, report, scale_db, config)
    find_relists(db)
    db.conn.set_trace_callback(None)
    statements = reads(captured)
    assert any("relist_progress" in s for s in statements) and any("FROM report_listings rl" in s for s in statements)
    for sql in statements:
        assert full_scans(db.conn, sql) == [], sql
    db.close()


def test_the_plan_check_sees_a_full_scan_and_a_sorted_queue(scale_db):
    """The check itself, on the old queue statements: a count through a text filter scans, and the old
    page query (state index, then ORDER BY over every queued row) sorts the whole queue."""
    import sqlite3

    conn = sqlite3.connect(scale_db)
    assert full_scans(conn, "SELECT count(*) FROM listings l LEFT JOIN sellers s ON s.id = l.seller_id "
                            "WHERE l.title LIKE '%x%'")
    old_page = ("SELECT l.id FROM listings l WHERE l.state IN ('flagged', 'relisted') ORDER BY (l.state = 'relisted') "
                "DESC, l.score DESC, coalesce(l.state_changed_at, l.first_seen) ASC, l.id ASC LIMIT 50 OFFSET 5000")
    assert full_scans(conn, old_page, sorts=True)
    conn.close()


def test_listing_counts_follow_every_insert_change_and_delete(scale_db, tmp_path):
    """The trigger-kept counters equal a recount after store writes, transitions, relabels and deletes, and
    ``sweep stats`` reads them."""
    import shutil

    from store.db import open_db
    from review.queue import Review
    from store.states import transition
    from store.listings import Store

    path = tmp_path / "copy.db"
    shutil.copy(scale_db, path)
    db = open_db(path)
    ids = [r[0] for r in db.execute("SELECT id FROM listings WHERE state = 'flagged' ORDER BY id LIMIT 3")]
    Review(db).claim(ids[0], "alice")
    Review(db).confirm(ids[0], "alice", "call_bomber")
    with db.conn:
        transition(db.conn, ids[1], "new", "classifier", "a new version reads benign")
        db.execute("UPDATE listings SET label = 'benign', flagged = 0 WHERE id = ?", [ids[1]])
        db.execute("UPDATE listings SET kind = 'forum' WHERE id = ?", [ids[2]])
        db.execute("DELETE FROM listing_contacts WHERE listing_id = ?", [ids[2]])
        for table in ("listing_versions", "classifications", "audit_log", "reviews", "relists"):
            if table != "audit_log":
                db.execute(f"DELETE FROM {table} WHERE listing_id = ?", [ids[2]])
        db.execute("DELETE FROM relists WHERE relisted_from = ?", [ids[2]])
        gone = db.execute("SELECT listing_id FROM relists ORDER BY listing_id LIMIT 5").fetchall()
        db.conn.executemany("DELETE FROM relists WHERE listing_id = ?", gone)
        db.execute("DELETE FROM listings WHERE id = ?", [ids[2]])
    recount = db.execute(
        "SELECT coalesce(state, 'new'), coalesce(platform, ''), coalesce(label, ''), coalesce(kind, ''), "
        "coalesce(flagged, 0), count(*) FROM listings GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5").fetchall()
    kept = db.execute("SELECT state, platform, label, kind, flagged, n FROM listing_counts WHERE n != 0 "
                      "ORDER BY 1, 2, 3, 4, 5").fetchall()
    assert kept == recount
    stats = {(r["platform"], r["label"]): (r["listings"], r["flagged"]) for r in Store(db).stats()}
    direct = {(p, lab): (n, f) for p, lab, n, f in db.execute(
        "SELECT platform, coalesce(label, 'unclassified'), count(*), sum(flagged) FROM listings GROUP BY 1, 2")}
    assert stats == direct
    relists = dict(db.execute("SELECT l.platform, count(DISTINCT r.relisted_from) FROM relists r "
                              "JOIN listings l ON l.id = r.relisted_from GROUP BY 1"))
    assert relists and dict(db.execute("SELECT platform, n FROM relist_counts WHERE n > 0")) == relists
    db.close()
