"""The store: migrations on an old database, versioning, and all-or-nothing batches."""
from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from crawler.items import Listing
from crawler.pipelines.normalise import NormalisePipeline
from store.db import migrations, open_db
from store.listings import Store


def listing(pid: str, description: str = "八口猫池 设备", **kw) -> Listing:
    item = Listing(id=f"marketplace:{pid}", platform="marketplace", platform_id=pid, kind="ecommerce",
                   url=f"http://127.0.0.1/item/{pid}", title=kw.pop("title", f"商品{pid}"), description=description,
                   price="¥88.00", seller_id="s1", seller_name="店", crawled_at="2026-11-27T00:00:00+00:00", **kw)
    item = NormalisePipeline().process_item(item)
    item.classification = {"label": "modem_pool", "score": 0.9, "flagged": True, "scores": {}, "explanation": [],
                           "model_version": "test"}
    return item


def test_migrations_upgrade_an_old_database(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(str(path))
    migrations.apply(db, stop_before="m002_run_tracking")
    db["crawl_runs"].insert({"started_at": "2026-01-01", "outcome": "ok"})
    db.execute("INSERT INTO listings (id, platform, platform_id, kind, url, title, last_run_id) "
               "VALUES ('marketplace:1', 'marketplace', '1', 'ecommerce', 'http://x/item/1', 't', 1)")
    db.conn.commit()
    assert "first_run_id" not in db["listings"].columns_dict
    db.close()
    upgraded = open_db(path)
    assert upgraded["listings"].columns_dict["first_run_id"] is int
    assert upgraded.execute("SELECT first_run_id FROM listings").fetchone()[0] == 1
    assert [m.name for m in migrations.applied(upgraded)][:3] == ["m001_initial", "m002_run_tracking",
                                                                "m003_states_and_audit"]
    assert upgraded.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_changed_content_is_a_new_version_and_unchanged_only_touches_last_seen(tmp_path):
    store = Store(open_db(tmp_path / "s.db"))
    first = listing("1")
    store.write_batch([first], run_id=None)
    assert store.known(first.id) == (first.content_hash, 1)
    seen = listing("1")
    seen.status, seen.crawled_at = "seen", "2026-11-28T00:00:00+00:00"
    store.write_batch([seen], run_id=None)
    changed = listing("1", description="十六口猫池 批量收码")
    changed.status, changed.version = "changed", 2
    store.write_batch([changed], run_id=None)
    db = store.db
    assert db.execute("SELECT count(*) FROM listing_versions WHERE listing_id = ?", [first.id]).fetchone()[0] == 2
    row = db.execute("SELECT version, last_seen, description FROM listings").fetchone()
    assert row[0] == 2 and row[2] == "十六口猫池 批量收码"
    assert db.execute("SELECT count(*) FROM classifications").fetchone()[0] == 2


def test_a_failing_batch_leaves_no_half_written_rows(tmp_path):
    store = Store(open_db(tmp_path / "s.db"))
    good = listing("1")
    bad = listing("2")
    bad.images = object()           # not serialisable: fails mid-batch, after `good` was written
    with pytest.raises(TypeError):
        store.write_batch([good, bad], run_id=None)
    for table in ("listings", "listing_versions", "classifications", "sellers", "listing_contacts"):
        assert store.db[table].count == 0, table
    assert store.db.execute("SELECT count(*) FROM listing_fts").fetchone()[0] == 0


def test_contacts_are_linked(tmp_path):
    store = Store(open_db(tmp_path / "s.db"))
    store.write_batch([listing("1", "懂的来 QQ 123456789"), listing("2", "vx: abc_demo QQ 123456789")], None)
    rows = store.db.execute("SELECT c.type, c.value, count(*) FROM listing_contacts lc JOIN contacts c "
                            "ON c.id = lc.contact_id GROUP BY c.id ORDER BY c.type").fetchall()
    assert rows == [("qq", "123456789", 2), ("wechat", "abc_demo", 1)]


@pytest.mark.parametrize("query, expected", [
    ("猫池", {"1", "2", "4"}), ("呼死你", {"3"}), ("猫", {"1", "2", "4", "5"}), ("goip", {"5"}),
    ("池", {"1", "2", "4"}), ("轰炸", set()),
])
def test_search_finds_every_listing_containing_the_text(tmp_path, query, expected):
    store = Store(open_db(tmp_path / "s.db"))
    texts = {"1": "八口猫池设备", "2": "猫池", "3": "正版呼死你软件，呼死你包月", "4": "二手 猫池 16口",
             "5": "GoIP8 网关 小猫"}
    store.write_batch([listing(pid, text, title="标题") for pid, text in texts.items()], None)
    found = {r["id"].split(":")[1] for r in store.search(query)}
    assert found == expected


def test_flagged_listings_enter_review_through_the_state_machine(tmp_path):
    store = Store(open_db(tmp_path / "s.db"))
    store.write_batch([listing("1")], None)
    db = store.db
    assert db.execute("SELECT state FROM listings").fetchone()[0] == "flagged"
    (actor, action), = db.execute("SELECT actor, action FROM audit_log").fetchall()
    assert (actor, action) == ("classifier", "state:new->flagged")
    cleared = listing("1", description="普通猫粮")
    cleared.status, cleared.version = "changed", 2
    cleared.classification = {**cleared.classification, "flagged": False, "label": "benign"}
    store.write_batch([cleared], None)
    assert db.execute("SELECT state FROM listings").fetchone()[0] == "new"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
