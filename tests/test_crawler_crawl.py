"""Real crawls of the sandbox: every platform kind, the GBK forum, the JS-filled pages through
Chromium, versioning on a recrawl, and `sweep run`'s exit status."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.helpers import sweep


@pytest.fixture(scope="module")
def db(crawled_db):
    con = sqlite3.connect(crawled_db)
    con.row_factory = sqlite3.Row
    yield con
    con.close()


def test_every_catalogue_listing_is_stored_exactly_once(db, catalogue):
    ids = [r["id"] for r in db.execute("SELECT id FROM listings")]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(catalogue.ground_truth())


def test_marketplace_fields(db, catalogue):
    row = next(r for r in catalogue.market.values() if not r.js_description)
    got = db.execute("SELECT * FROM listings WHERE id = ?", [row.key]).fetchone()
    assert got["title"] == row.title and got["description"] == row.description
    assert got["price"] == pytest.approx(float(row.price))
    assert got["seller_id"] == f"marketplace:{row.seller_id}"
    seller = db.execute("SELECT name FROM sellers WHERE id = ?", [got["seller_id"]]).fetchone()
    assert seller["name"] == row.seller_name
    assert len(json.loads(got["images"])) == 2


def test_js_filled_descriptions_come_through_chromium(db, catalogue):
    js_rows = [r for r in catalogue.market.values() if r.js_description]
    assert js_rows
    for row in js_rows:
        got = db.execute("SELECT description FROM listings WHERE id = ?", [row.key]).fetchone()
        assert got["description"] == row.description, row.key


def test_appstore_fields(db, catalogue):
    row = next(iter(catalogue.apps.values()))
    got = db.execute("SELECT * FROM listings WHERE id = ?", [row.key]).fetchone()
    extra = json.loads(got["extra"])
    assert got["title"] == row.title and got["description"] == row.description
    assert extra["developer"] == row.developer and extra["version"] == row.version
    assert extra["downloads"] == str(row.downloads)


def test_gbk_forum_threads_decode_and_collect_replies_across_pages(db, catalogue):
    for row in catalogue.threads.values():
        got = db.execute("SELECT title, description, extra FROM listings WHERE id = ?", [row.key]).fetchone()
        assert got["title"] == row.title.strip() and got["description"] == row.description.strip()
        replies = json.loads(got["extra"])["replies"]
        assert replies == [r["text"].strip() for r in row.replies], row.key     # quotes stripped, all pages


def _lines(text: str) -> str:
    """Text as the extractor keeps it: spaces folded, line breaks kept, a run of blank lines one blank line."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(" ".join(line.split()) for line in text.splitlines())).strip()


def test_code_host_repositories_through_the_link_header_api(db, catalogue):
    for row in catalogue.repos.values():
        got = db.execute("SELECT * FROM listings WHERE id = ?", [row.key]).fetchone()
        extra = json.loads(got["extra"])
        assert got["kind"] == "code" and got["title"] == row.title, row.key
        assert got["description"] == _lines(row.description), row.key           # the rendered README
        assert extra["topics"] == row.extra["topics"] and extra["files"] == row.extra["files"], row.key
        assert extra["stars"] == str(row.extra["stars"]) and got["seller_id"] == f"codehost:{row.seller_id}"
    run = json.loads(db.execute("SELECT stats FROM crawl_runs ORDER BY id DESC").fetchone()["stats"])
    assert run["platforms"]["codehost"]["listings"] == len(catalogue.repos)


def test_social_channels_with_their_older_posts(db, catalogue):
    for row in catalogue.channels.values():
        got = db.execute("SELECT * FROM listings WHERE id = ?", [row.key]).fetchone()
        posts = json.loads(got["extra"])["posts"]
        assert got["kind"] == "social" and got["title"] == row.title, row.key
        assert got["description"] == _lines(row.description), row.key            # about + pinned post
        assert sorted(posts) == sorted(_lines(p["text"]) for p in row.extra["posts"]), row.key


def test_one_handle_links_listings_across_platforms(db):
    """A repository and the channel selling it share a release file, a drive link and handles —
    written in disguise (扣 扣, t点me, spaced digits) — and are linked through them."""
    def shared(a, b):
        return {tuple(r) for r in db.execute(
            "SELECT c.type, c.value FROM listing_contacts x JOIN listing_contacts y ON x.contact_id = y.contact_id "
            "JOIN contacts c ON c.id = x.contact_id WHERE x.listing_id = ? AND y.listing_id = ?", [a, b])}

    assert ("file", "duanxin_yace_v2.4.apk") in shared("codehost:demo-hzq/hzj-android", "social:demo_yace_tool")
    assert ("netdisk", "pan.sandbox.test/s/1DemoHzWeb") in shared("codehost:demo-hzq/hongzha-web",
                                                                  "social:demo_hongzha_bot")
    assert ("qq_group", "123450201") in shared("codehost:demo-hzq/duanxin-yace", "social:demo_yace_tool")
    assert ("telegram", "demo_hsn_vip") in shared("codehost:demo-hsncloud/hsn-cloud-release", "social:demo_hsn_vip")
    from store.db import open_db
    from store.entities import other_platforms

    path = db.execute("PRAGMA database_list").fetchone()[2]
    cluster = other_platforms(open_db(path, migrate=False), "social:demo_yace_tool", "social")
    assert {"codehost:demo-hzq/duanxin-yace", "codehost:demo-hzq/hzj-android"} <= {r["id"] for r in cluster["codehost"]}


def test_contacts_and_classifications_are_stored(db):
    assert db.execute("SELECT count(*) FROM listing_contacts").fetchone()[0] > 20
    flagged = {r[0] for r in db.execute("SELECT DISTINCT label FROM listings WHERE flagged = 1")}
    assert flagged == {"call_bomber", "caller_id_spoof", "sms_bomber", "modem_pool", "voice_gateway"}
    n_listings = db.execute("SELECT count(*) FROM listings").fetchone()[0]
    assert db.execute("SELECT count(*) FROM classifications").fetchone()[0] == n_listings
    run = db.execute("SELECT outcome, stats FROM crawl_runs ORDER BY id DESC").fetchone()
    assert run["outcome"] == "ok" and set(json.loads(run["stats"])["platforms"]) == {
        "marketplace", "appstore", "forum", "codehost", "social"}


def test_search_finds_every_listing_containing_the_term(crawled_db, db):
    for term in ("猫池", "呼死你", "短信"):
        expected = {r[0] for r in db.execute(
            "SELECT id FROM listings WHERE lower(title || ' ' || description) LIKE ?", [f"%{term}%"])}
        assert expected, term
        out = sweep("search", term, "--db", str(crawled_db), "--limit", "0", "--json")
        found = {json.loads(line)["id"] for line in out.stdout.splitlines()}
        assert found == expected, term


def test_recrawl_only_touches_last_seen(sandbox, crawled_db, tmp_path):
    copy = tmp_path / "again.db"
    src = sqlite3.connect(crawled_db)
    src.backup(sqlite3.connect(copy))
    src.close()
    sweep("crawl", "--db", str(copy), "--platform", "appstore", "--base-url", f"appstore={sandbox.urls['appstore']}")
    con = sqlite3.connect(copy)
    versions = con.execute("SELECT count(*) FROM listing_versions WHERE listing_id LIKE 'appstore:%'").fetchone()[0]
    apps = con.execute("SELECT count(*) FROM listings WHERE platform = 'appstore'").fetchone()[0]
    last = con.execute("SELECT max(id) FROM crawl_runs").fetchone()[0]
    assert versions == apps
    assert con.execute("SELECT count(*) FROM listings WHERE platform = 'appstore' AND last_run_id = ?",
                       [last]).fetchone()[0] == apps
    assert con.execute("SELECT count(*) FROM classifications WHERE listing_id LIKE 'appstore:%'").fetchone()[0] == apps


@pytest.mark.slow
def test_run_fails_clearly_when_a_platform_is_unreachable(model_path, tmp_path):
    proc = sweep("run", "--db", str(tmp_path / "x.db"), "--platform", "forum",
                 "--base-url", "forum=http://127.0.0.1:9", check=False)
    assert proc.returncode != 0
    assert "forum: cannot reach http://127.0.0.1:9 (connection refused)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scrapy_crawl_works_from_the_repo_root(sandbox, model_path, tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    db = tmp_path / "scrapy.db"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "appstore", "-a", "profile=appstore",
                           "-a", f"base_url={sandbox.urls['appstore']}", "-s", f"SWEEP_DB={db}",
                           "-s", "LOG_LEVEL=WARNING"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = sqlite3.connect(db)
    stored = con.execute("SELECT count(*) FROM listings").fetchone()[0]
    assert stored > 100
    assert con.execute("SELECT outcome FROM crawl_runs").fetchone()[0] == "ok"
    # The bare crawl records its run as a cycle does: what it stored, and every monitor's result.
    shown = sweep("runs", "--db", str(db), "--json", timeout=60)
    run = json.loads(shown.stdout.splitlines()[0])
    assert run["listings"] == run["platform_stats"]["appstore"]["listings"] == stored, run
    assert len(run["monitors"]) == 9 and {m["status"] for m in run["monitors"]} == {"OK"}, run["monitors"]
