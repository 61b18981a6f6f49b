"""Rechecks over days of injected time against the real sandbox: removal signals, consistency, escalation."""
from __future__ import annotations

import json
import time

import pytest
import requests

from crawler.profile import load_profiles
from common.clock import ManualClock
from common.config import Config
from store.db import open_db
from takedown.page_check import classify_response
from takedown.recheck import gone_run, recheck_due
from takedown.reports import file_confirmed
from tests.fixtures_takedown import seed_db

CONFIG = Config({"reports": {"capture_evidence": False, "require_evidence": False},
                 "platforms": {name: {"channels": ["sandbox_intake"]}
                               for name in ("marketplace", "appstore", "forum")}})
PROFILES = {p.name: p.listing["removed"] for p in load_profiles()}


def _pick(catalogue, platform, outcome, skip=()):
    table = {"marketplace": catalogue.market, "appstore": catalogue.apps, "forum": catalogue.threads}[platform]
    return next(r for r in table.values() if r.label != "benign" and r.outcome == outcome and r.key not in skip)


def _listings(path):
    db = open_db(path)
    rows = {r["id"]: dict(r) for r in db.query("SELECT id, state, reported_at, removed_at FROM listings")}
    db.close()
    return rows


def _checks(path, listing_id):
    db = open_db(path)
    rows = [dict(r) for r in db.query("SELECT status, signal, http_status FROM rechecks WHERE listing_id = ? "
                                      "ORDER BY id", [listing_id])]
    db.close()
    return rows


def _wait_for_moderation(sb, keys, platform="marketplace"):
    """The sandbox removes reported listings after 0.3 s; wait (bounded) until its report status says so."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reports = requests.get(sb.urls[platform] + "/api/reports").json()
        done = set()
        for rep in reports:
            done |= set(requests.get(f"{sb.urls[platform]}/api/report/{rep['report_id']}").json()["removed"])
        if set(keys) <= done:
            return
        time.sleep(0.05)
    raise AssertionError(f"sandbox did not remove {keys}")


# -- reading the signals -------------------------------------------------------------------------------
@pytest.mark.parametrize("platform, status, text, redirect, expected", [
    ("marketplace", 404, "您访问的页面不存在", None, ("gone", "http_404")),
    ("marketplace", 410, "该宝贝已被删除", None, ("gone", "http_410")),
    ("marketplace", 200, "<h2>商品已下架</h2>", None, ("gone", "text:商品已下架")),
    ("marketplace", 200, "<div>该店铺已关闭</div>", None, ("gone", "text:该店铺已关闭")),
    ("marketplace", 200, "搜索：猫池", "http://127.0.0.1:8701/search?q=%E7%8C%AB", ("gone", "redirect:/search")),
    ("marketplace", 200, "<h1>八口猫池</h1>", None, ("live", None)),
    ("marketplace", 200, "<h1>八口猫池</h1>", "http://127.0.0.1:8701/item/9", ("live", None)),
    ("marketplace", 429, "请求过于频繁", None, ("error", "http_429")),
    ("marketplace", 503, "", None, ("error", "http_503")),
    ("marketplace", 403, "", None, ("error", "http_403")),
    ("appstore", 200, "<h2>该应用已下架</h2>", None, ("gone", "text:该应用已下架")),
    ("forum", 200, "抱歉，该帖子已被删除", None, ("gone", "text:该帖子已被删除")),
    ("forum", 200, "版块", "http://127.0.0.1:8703/forum.php?mod=forumdisplay&fid=7", ("gone", "redirect:forumdisplay")),
    ("forum", 200, "<span id=thread_subject>群呼</span>", None, ("live", None)),
])
def test_profile_removal_signals(platform, status, text, redirect, expected):
    result = classify_response(PROFILES[platform], status, text, redirect)
    assert (result.status, result.signal) == expected and result.http_status == status


def test_only_a_consistent_run_of_gone_checks_counts():
    checks = [("t4", "gone"), ("t3", "error"), ("t2", "gone"), ("t1", "live"), ("t0", "gone")]
    assert len(gone_run([(f"2026-11-2{i}T00:00:00+00:00", s) for i, (_, s) in enumerate(checks)])) == 2
    assert gone_run([("2026-11-28T00:00:00+00:00", "live")]) == []


# -- the lifecycle, against the sandbox ------------------------------------------------------------------
def test_removals_are_confirmed_by_consistent_checks_and_what_stays_up_is_escalated(tmp_path, fresh_sandbox,
                                                                                   catalogue):
    rows = [_pick(catalogue, "marketplace", o) for o in ("gone_404", "gone_410", "soft_removed", "redirect", "never")]
    rows += [_pick(catalogue, "forum", "soft_removed"), _pick(catalogue, "appstore", "redirect")]
    never = rows[4]
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    clock = ManualClock("2026-11-28T09:00:00+00:00")
    assert file_confirmed(path, CONFIG, clock)["sent"] == len(rows)
    for platform in ("marketplace", "forum", "appstore"):
        _wait_for_moderation(fresh_sandbox, [r.key for r in rows if r.platform == platform and r is not never],
                             platform)

    clock.advance(minutes=30)
    assert recheck_due(path, CONFIG, clock)["checked"] == 0                  # first check one hour after filing
    clock.advance(minutes=31)
    first = recheck_due(path, CONFIG, clock)
    assert first["checked"] == len(rows) and first["gone"] == len(rows) - 1 and first["removed"] == 0
    clock.advance(hours=2)
    assert recheck_due(path, CONFIG, clock)["checked"] == 0                  # gone ones wait the 24 h gap
    clock.advance(hours=22)
    second = recheck_due(path, CONFIG, clock)
    assert second["removed"] == len(rows) - 1 and second["escalated"] == 0
    states = _listings(path)
    assert states[never.key]["state"] == "reported"
    signals = {r.key: _checks(path, r.key)[-1]["signal"] for r in rows}
    assert signals == {rows[0].key: "http_404", rows[1].key: "http_410", rows[2].key: "text:商品已下架",
                       rows[3].key: "redirect:/search", never.key: None, rows[5].key: "text:该帖子已被删除",
                       rows[6].key: "redirect:/search"}
    # removed_at is when it was first seen gone, not when that was confirmed.
    assert states[rows[0].key]["removed_at"].startswith("2026-11-28T10:01")

    # Past the 48 h deadline and still live: still_live → escalated; the next filing re-files (level 1).
    clock.advance(hours=24)
    third = recheck_due(path, CONFIG, clock)
    assert (third["still_live"], third["escalated"]) == (1, 1)
    assert _listings(path)[never.key]["state"] == "escalated"
    assert file_confirmed(path, CONFIG, clock)["sent"] == 1
    received = requests.get(fresh_sandbox.urls["marketplace"] + "/api/reports").json()
    assert [r["listings"] for r in received].count([never.key]) == 2
    # Next deadlines: the ladder's next channels (XARF, then the 12321 batch), then nothing more.
    for _channel in ("xarf", "csv_12321"):
        clock.advance(hours=49)
        assert recheck_due(path, CONFIG, clock)["escalated"] == 1
        assert file_confirmed(path, CONFIG, clock)["sent"] == 1
    clock.advance(hours=49)
    last = recheck_due(path, CONFIG, clock)
    assert last["still_live"] == 1 and last["escalated"] == 0 and last["needs_person"] == 1
    assert _listings(path)[never.key]["state"] == "still_live"
    db = open_db(path)
    ladder = [(r["escalation_level"], r["channel"]) for r in db.query(
        "SELECT r.escalation_level, r.channel FROM reports r JOIN report_listings rl ON rl.report_id = r.id "
        "WHERE rl.listing_id = ? ORDER BY r.id", [never.key])]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE listing_id = ? ORDER BY id", [never.key])]
    db.close()
    assert ladder == [(0, "sandbox_intake"), (1, "sandbox_intake"), (2, "xarf"), (3, "csv_12321")]
    assert actions[-3:] == ["state:escalated->reported", "state:reported->still_live", "needs_person"]
    assert len(list((tmp_path / "exports" / "xarf").glob("*.json"))) == 1
    assert len(list((tmp_path / "exports" / "12321").glob("*.csv"))) == 1


def test_a_transient_404_is_not_a_removal_and_a_removal_that_comes_back_is_still_live(tmp_path, fresh_sandbox,
                                                                                     catalogue):
    row = _pick(catalogue, "marketplace", "never")
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    clock = ManualClock("2026-11-28T09:00:00+00:00")
    file_confirmed(path, CONFIG, clock)
    glitch = fresh_sandbox.urls["marketplace"] + "/admin/glitch"
    requests.post(glitch, json={"listing": row.key, "count": 1, "status": 404}).raise_for_status()
    clock.advance(hours=1, minutes=1)
    assert recheck_due(path, CONFIG, clock)["gone"] == 1
    clock.advance(hours=24)
    assert recheck_due(path, CONFIG, clock)["removed"] == 0
    assert [c["status"] for c in _checks(path, row.key)] == ["gone", "live"]
    assert _listings(path)[row.key]["state"] == "reported"

    # Two 404s a day apart do count ... and if the page then comes back, it is still live.
    requests.post(glitch, json={"listing": row.key, "count": 2, "status": 410}).raise_for_status()
    clock.advance(hours=24)
    assert recheck_due(path, CONFIG, clock)["gone"] == 1
    clock.advance(hours=24)
    assert recheck_due(path, CONFIG, clock)["removed"] == 1
    assert _listings(path)[row.key]["state"] == "removed"
    clock.advance(days=7, minutes=1)
    back = recheck_due(path, CONFIG, clock)
    after = _listings(path)[row.key]
    assert back["came_back"] == 1 and after["state"] == "still_live" and after["removed_at"] is None


def test_a_closed_shop_counts_as_removed(tmp_path, fresh_sandbox, catalogue):
    row = _pick(catalogue, "marketplace", "never")
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    config = Config({**CONFIG.data, "recheck": {"confirm_checks": 1}})
    clock = ManualClock()
    file_confirmed(path, config, clock)
    requests.post(f"{fresh_sandbox.urls['marketplace']}/admin/shops/{row.seller_id}/close").raise_for_status()
    clock.advance(hours=2)
    summary = recheck_due(path, config, clock)
    assert summary["removed"] == 1                                           # one check is enough when configured
    assert _checks(path, row.key) == [{"status": "gone", "signal": "text:该店铺已关闭", "http_status": 200}]
    shop = requests.get(f"{fresh_sandbox.urls['marketplace']}/shop/{row.seller_id}").text
    assert "该店铺已关闭" in shop


def test_unreachable_platform_is_an_error_not_a_removal(tmp_path, catalogue):
    row = _pick(catalogue, "marketplace", "gone_404")
    path = seed_db(tmp_path / "sweep.db", {"marketplace": "http://127.0.0.1:9"}, [row])
    db = open_db(path)
    with db.conn:
        from store.states import transition

        transition(db.conn, row.key, "reported", "test", at=ManualClock().now())
        db.execute("UPDATE listings SET reported_at = '2026-11-28T09:00:00+00:00'")
    db.close()
    clock = ManualClock("2026-11-28T10:01:00+00:00")
    for _ in range(3):
        assert recheck_due(path, CONFIG, clock)["error"] == 1
        clock.advance(hours=25)
    assert _listings(path)[row.key]["state"] == "reported"
    assert {c["signal"] for c in _checks(path, row.key)} == {"fetch:ConnectionError"}


def test_cli_recheck_runs_at_the_given_time(tmp_path, fresh_sandbox, catalogue):
    from click.testing import CliRunner

    from cli.main import cli

    row = _pick(catalogue, "marketplace", "gone_410")
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[reports]\ncapture_evidence = false\nrequire_evidence = false\n'
                   '[platforms.marketplace]\nchannels = ["sandbox_intake"]\n[recheck]\nconfirm_checks = 1\n')
    run = CliRunner()
    filed = run.invoke(cli, ["report", "--db", str(path), "--config", str(cfg), "--now", "2026-11-28T09:00:00Z"])
    assert filed.exit_code == 0, filed.output
    _wait_for_moderation(fresh_sandbox, [row.key])
    early = run.invoke(cli, ["recheck", "--db", str(path), "--config", str(cfg), "--now", "2026-11-28T09:30:00Z",
                             "--json"])
    assert json.loads(early.output)["checked"] == 0
    late = run.invoke(cli, ["recheck", "--db", str(path), "--config", str(cfg), "--now", "2026-11-28T10:30:00Z",
                            "--json"])
    assert json.loads(late.output)["removed"] == 1
    assert _listings(path)[row.key]["state"] == "removed"
    assert _listings(path)[row.key]["removed_at"].startswith("2026-11-28T10:30")
