"""The Datasette metadata shipped for sweep.db, checked against a real database with plain SQLite
(Datasette itself is an optional extra): every canned query runs and answers, the FTS link names real
tables and columns, and Chinese search finds what `sweep search` finds."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from store.db import open_db
from store.search import index_text, match_expression
from store.listings import Store

METADATA = json.loads((Path(__file__).resolve().parent.parent / "store" / "datasette_metadata.json")
                      .read_text(encoding="utf-8"))
DB = METADATA["databases"]["sweep"]
ROWS = [  # id, platform, title, label, score, state, reported_at, removed_at
    ("marketplace:1", "marketplace", "呼死你软件 包月 联系QQ12345001", "call_bomber", 0.97, "removed",
     "2026-11-28T09:00:00+00:00", "2026-11-29T15:00:00+00:00"),
    ("marketplace:2", "marketplace", "正版呼死你 电话轰炸 微信abc_demo", "call_bomber", 0.95, "flagged", None, None),
    ("appstore:7", "appstore", "猫池 32口 GoIP 语音网关", "modem_pool", 0.9, "relisted", None, None),
    ("forum:3", "forum", "呼叫中心外包 正规企业服务", "benign", 0.05, "new", None, None),
]


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "sweep.db")
    with db.conn:
        for lid, platform, title, label, score, state, reported, removed in ROWS:
            db.execute("INSERT INTO listings (id, platform, title, description, label, score, flagged, state, "
                       "state_changed_at, reported_at, removed_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, "
                       "'2026-11-28T08:00:00+00:00', ?, ?)",
                       [lid, platform, title, label, score, int(label != "benign"), state, reported, removed])
            rowid = db.execute("SELECT rowid FROM listings WHERE id = ?", [lid]).fetchone()[0]
            db.execute("INSERT INTO listing_fts (rowid, listing_id, tokens) VALUES (?, ?, ?)",
                       [rowid, lid, index_text(title)])
        db.execute("INSERT INTO relists (listing_id, relisted_from, reason, linked_at) VALUES "
                   "('marketplace:2', 'marketplace:1', 'shared_contact', '2026-11-30T09:00:00+00:00')")
    yield db
    db.close()


def test_the_fts_link_names_real_tables_and_finds_by_bigram_phrase(db):
    listings = DB["tables"]["listings"]
    assert listings["fts_table"] == "listing_fts" and listings["searchmode"] == "raw"
    assert db["listing_fts"].exists() and "VIRTUAL TABLE" in db["listing_fts"].schema.upper()
    # What Datasette runs for ?_search= with this link: the listing's fts_pk among the FTS rowids.
    sql = (f"SELECT id FROM listings WHERE {listings['fts_pk']} IN "
           f"(SELECT rowid FROM {listings['fts_table']} WHERE {listings['fts_table']} MATCH :search) ORDER BY id")
    found = [r[0] for r in db.execute(sql, {"search": '"呼死 死你"'})]     # the phrase the docs tell people to type
    assert found == ["marketplace:1", "marketplace:2"]
    assert found == sorted(r["id"] for r in Store(db).search("呼死你"))
    assert match_expression("呼死你") == '"呼死 死你"'                    # the docs' example is the real index form


@pytest.mark.parametrize("term", ["呼死你", "猫池", "呼", "语音网关", "不存在的词"])
def test_the_search_query_takes_plain_chinese_like_sweep_search(db, term):
    rows = db.execute(DB["queries"]["search"]["sql"], {"q": term}).fetchall()
    assert sorted(r[0] for r in rows) == sorted(r["id"] for r in Store(db).search(term))


def test_every_canned_query_runs_and_answers(db):
    answers = {}
    for name, query in DB["queries"].items():
        params = dict.fromkeys(re.findall(r":(\w+)", query["sql"]), "呼死你")
        cur = db.execute(query["sql"], params)
        answers[name] = [dict(zip([c[0] for c in cur.description], row)) for row in cur.fetchall()]
    assert {(r["platform"], r["state"], r["listings"]) for r in answers["queue_by_platform"]} == {
        ("marketplace", "flagged", 1), ("appstore", "relisted", 1)}
    assert answers["removal_times"] == [{"platform": "marketplace", "removed": 1, "avg_hours": 30.0,
                                         "min_hours": 30.0, "max_hours": 30.0}]
    assert [(r["listing_id"], r["relisted_from"], r["reason"]) for r in answers["relists"]] == [
        ("marketplace:2", "marketplace:1", "shared_contact")]
    assert len(answers["search"]) == 2
