"""`sweep audit-search` on the real sandbox: the marketplace filters the plain keywords but not their
evasive spellings, the app store filters nothing; the compliance report renders."""
from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from classifier.normalize import normalize
from crawler.profile import load_profiles
from visibility.variants import variants
from tests.conftest import base_url_args, sweep


def test_variants_come_from_the_normaliser_and_fold_back():
    got = variants("呼死你")
    kinds = {k for k, _ in got}
    assert {"plain", "spacing", "pinyin", "homophone", "fullwidth"} <= kinds
    assert ("pinyin", "hsn") in got and ("spacing", "呼 死 你") in got and ("fullwidth", "ｈｓｎ") in got
    assert ("traditional", "簡訊轟炸") in variants("短信轰炸")
    for keyword in ("呼死你", "短信轰炸", "语音网关", "goip"):
        for kind, query in variants(keyword):
            if kind != "homophone":
                assert normalize(query) == normalize(keyword), (kind, query)


def test_audit_on_the_sandbox_with_report(sandbox, tmp_path, model_path):
    db, reports = tmp_path / "sweep.db", tmp_path / "reports"
    out = sweep("audit-search", "--db", str(db), "--keywords", "短信轰炸,语音网关,猫池", "--report-dir", str(reports),
                "--json", *base_url_args(sandbox.urls))
    summary = {s["platform"]: s for s in json.loads(out.stdout)["platforms"]}
    searchable = {p.name for p in load_profiles() if p.seeds.get("search")}
    assert set(summary) == searchable and "forum" not in searchable, "the forum has no search seed"
    con = sqlite3.connect(db)
    rows = con.execute("SELECT platform, variant, query, results, harmful, harmful_first_page, error "
                       "FROM search_audit_queries").fetchall()
    assert rows and all(r[6] is None for r in rows)
    market = {r[2]: r for r in rows if r[0] == "marketplace"}
    apps = {r[2]: r for r in rows if r[0] == "appstore"}
    for plain in ("短信轰炸", "语音网关"):
        assert market[plain][3] == 0, "the marketplace filters these keywords as typed"
    assert market["猫池"][4] > 0, "but not every keyword: 猫池 still finds harmful listings"
    assert any(r[4] > 0 and r[5] > 0 for q, r in market.items() if r[1] != "plain"), \
        "evasive spellings still find harmful listings on the marketplace"
    assert apps["短信轰炸"][4] > 0 or apps["语音网关"][4] > 0, "the app store filters nothing"
    assert summary["marketplace"]["visible"] >= 1 and summary["marketplace"]["by_variant"]["plain"]["visible"] == 1

    date = datetime.now(UTC).date().isoformat()
    page = (reports / f"compliance-marketplace-{date}.html").read_text(encoding="utf-8")
    assert "查处清理" in page and "search visibility" in page and "Median hours to removal" in page
    assert "<script" not in page
    assert (reports / f"compliance-appstore-{date}.html").exists()

    table = sweep("audit-search", "--db", str(db), "--keywords", "猫池", *base_url_args(sandbox.urls))
    assert "marketplace" in table.stdout and "worst queries" in table.stdout
    assert con.execute("SELECT count(*) FROM search_audits WHERE finished_at IS NOT NULL").fetchone()[0] == 2

    from store.db import open_db
    from visibility.report import visibility_over_time

    series = visibility_over_time(open_db(db))          # what the dashboard shows
    assert [len(series[p]) for p in ("marketplace", "appstore")] == [2, 2]
    assert series["marketplace"][0]["visible"] == summary["marketplace"]["visible"]


def test_audit_fetches_stay_inside_the_profile_rules(sandbox):
    import pytest

    from crawler.profile import load_profiles
    from visibility.fetch import PoliteFetcher, Refused

    profile = next(p for p in load_profiles() if p.name == "marketplace").rebase(sandbox.urls["marketplace"])
    fetcher = PoliteFetcher(profile)
    for url in ("http://10.0.0.1/search?q=x", "http://169.254.169.254/latest/meta-data/",
                "http://other.example/search?q=x"):
        with pytest.raises(Refused):
            fetcher.get(url)
    assert fetcher.requests == 0, "nothing is sent to a host outside the profile"
    assert fetcher.get(sandbox.urls["marketplace"] + "/search?q=%E5%A4%9A%E5%8D%A1").status_code == 200
    assert "Sweep/" in fetcher.session.headers["User-Agent"]
