"""Filing: only confirmed listings, bundled by seller, the law cited, exactly once — even when killed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests

from takedown import reports as reports_mod
from takedown.channels import CHANNELS
from takedown.channels.email import EmailChannel
from takedown.channels.sandbox_intake import SandboxIntake
from common.clock import ManualClock
from common.config import Config
from store.db import open_db
from takedown.outbox import retry_failed
from takedown.policy import LAW, bundle_category, citations
from takedown.reports import file_confirmed, filer_lock
from tests.helpers import html_page
from tests.conftest import ROOT
from tests.fixtures_takedown import copy_db, harmful_rows, rebase_db, seed_db

FAST = {"reports": {"capture_evidence": False, "require_evidence": False}}


def _config(**platforms):
    return Config({**FAST, "platforms": {name: {"channels": ["sandbox_intake"], **s} for name, s in platforms.items()}})


def _sandbox_reports(sb, platform="marketplace"):
    return requests.get(sb.urls[platform] + "/api/reports").json()


def _db_rows(path, sql, params=()):
    db = open_db(path)
    rows = [dict(r) for r in db.query(sql, params)]
    db.close()
    return rows


# -- what a report says ------------------------------------------------------------------------------
def test_each_category_cites_the_law_it_breaks():
    for label in ("modem_pool", "voice_gateway", "caller_id_spoof"):
        cited = citations([label])
        assert cited[0].law == "《中华人民共和国反电信网络诈骗法》" and cited[0].article.startswith("第十四条")
        assert any(c.article == "第十四条第二款" for c in cited)           # the platform's duty to block
    assert "电话卡批量插入设备" in citations(["modem_pool"])[0].text
    assert "改变主叫号码" in citations(["caller_id_spoof"])[0].text
    for label in ("call_bomber", "sms_bomber"):
        assert "2018" in citations([label])[0].law and "工业和信息化部" in citations([label])[0].law
    mixed = citations(["sms_bomber", "modem_pool", "modem_pool"])
    assert len(mixed) == len(set(mixed)) == len(LAW["modem_pool"]) + len(LAW["sms_bomber"])
    assert bundle_category(["sms_bomber", "modem_pool", "modem_pool"]) == "modem_pool"
    assert bundle_category(["sms_bomber", "modem_pool"]) == "modem_pool"          # tie: the graver one


# -- the whole filing path ----------------------------------------------------------------------------
def test_confirmed_listings_reach_the_intake_and_the_abuse_desk_once(evidenced_db, fresh_sandbox, smtp_server,
                                                                   tmp_path):
    smtp_server.clear()
    path = copy_db(evidenced_db[0], tmp_path)
    rows = evidenced_db[1]
    rebase_db(path, fresh_sandbox.urls)
    config = Config({"channels": {"smtp": smtp_server.config()}})
    clock = ManualClock()
    summary = file_confirmed(path, config, clock)
    sellers = {(r.platform, r.seller_id) for r in rows}
    assert summary["failed"] == 0 and summary["sent"] == summary["planned"] == 2 * len(sellers)
    received = [rep for name in fresh_sandbox.urls for rep in _sandbox_reports(fresh_sandbox, name)]
    assert len(received) == len(sellers)
    assert sorted(k for rep in received for k in rep["listings"]) == sorted(r.key for r in rows)
    assert len(smtp_server.messages) == len(sellers)
    assert Counter(m.rcpt_tos[0] for m in smtp_server.messages) == Counter(f"abuse@{p}.example" for p, _ in sellers)
    listings = _db_rows(path, "SELECT id, state, reported_at FROM listings")
    assert {r["state"] for r in listings} == {"reported"}
    assert {r["reported_at"] for r in listings} <= {"2026-11-28T09:00:00+00:00", "2026-11-28T09:00:01+00:00",
                                                    "2026-11-28T09:00:02+00:00"}
    links = _db_rows(path, "SELECT rl.evidence_id, e.listing_id FROM report_listings rl JOIN evidence e "
                           "ON e.id = rl.evidence_id")
    assert len(links) == 2 * len(rows)                   # every listing, in both channels, cites its evidence
    audit = _db_rows(path, "SELECT actor, action FROM audit_log WHERE action = 'state:confirmed->reported'")
    assert len(audit) == len(rows) and {a["actor"] for a in audit} == {"sweep-report"}
    # Running again files nothing more, anywhere.
    again = file_confirmed(path, config, clock)
    assert again["planned"] == again["sent"] == 0
    assert sum(len(_sandbox_reports(fresh_sandbox, n)) for n in fresh_sandbox.urls) == len(sellers)
    assert len(smtp_server.messages) == len(sellers)


@pytest.mark.browser
def test_filing_cites_the_evidence_step_s_capture_and_captures_only_what_has_none(evidenced_db, catalogue, tmp_path):
    """The cycle's evidence step already captured these listings: filing must not fetch or screenshot them again,
    even when a later crawl saw a new version (that is the evidence step's to capture). A listing with no evidence
    at all is still captured before it is filed (require_evidence would hold it)."""
    path = copy_db(evidenced_db[0], tmp_path)
    captured = next(r for r in evidenced_db[1] if r.platform == "marketplace")
    fresh = next(r for r in harmful_rows(catalogue, "marketplace", 1, 10) if r not in evidenced_db[1])
    asked: list[str] = []
    with html_page("<html><body><h1>短信轰炸 测试页</h1><p>QQ 123450001</p></body></html>", asked) as base:
        rebase_db(path, {"marketplace": base})
        seed_db(path, {"marketplace": base}, [fresh], state="confirmed")
        db = open_db(path)
        with db.conn:               # a re-crawl stored a new version after the evidence step captured the old one
            db.execute("UPDATE listings SET version = version + 1 WHERE id = ?", [captured.key])
        old_evidence = db.execute("SELECT id FROM evidence WHERE listing_id = ?", [captured.key]).fetchone()[0]
        url_of = dict(db.execute("SELECT id, url FROM listings WHERE id IN (?, ?)", [captured.key, fresh.key]))
        db.close()
        config = Config({"platforms": {p: {"channels": ["xarf"]} for p in ("marketplace", "appstore", "forum")}})
        summary = file_confirmed(path, config, ManualClock())
    path_of = {lid: url[len(base):] for lid, url in url_of.items()}
    assert path_of[captured.key] not in asked                             # neither fetched nor screenshotted again
    assert path_of[fresh.key] in asked and summary["captured"] == 1
    assert "waiting_for_evidence" not in summary and summary["failed"] == 0
    cited = {r["listing_id"]: r["evidence_id"] for r in _db_rows(path, "SELECT listing_id, evidence_id "
                                                                        "FROM report_listings")}
    assert cited[captured.key] == old_evidence
    assert _db_rows(path, "SELECT listing_id FROM evidence WHERE id = ?", [cited[fresh.key]]) == [
        {"listing_id": fresh.key}]
    states = {r["id"]: r["state"] for r in _db_rows(path, "SELECT id, state FROM listings WHERE id IN (?, ?)",
                                                    [captured.key, fresh.key])}
    assert states == {captured.key: "reported", fresh.key: "reported"}


def test_only_confirmed_listings_are_reported_and_evidence_is_required(tmp_path, fresh_sandbox, catalogue):
    flagged, confirmed = harmful_rows(catalogue, "marketplace", 1, 2)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [flagged], state="flagged")
    seed_db(path, fresh_sandbox.urls, [confirmed], state="confirmed")
    strict = Config({"reports": {"capture_evidence": False},
                     "platforms": {"marketplace": {"channels": ["sandbox_intake"]}}})
    summary = file_confirmed(path, strict, ManualClock())
    assert summary["planned"] == 0 and summary["waiting_for_evidence"] == [confirmed.key]
    summary = file_confirmed(path, _config(marketplace={}), ManualClock())
    assert summary["sent"] == 1
    assert [r["listings"] for r in _sandbox_reports(fresh_sandbox)] == [[confirmed.key]]
    states = {r["id"]: r["state"] for r in _db_rows(path, "SELECT id, state FROM listings")}
    assert states == {flagged.key: "flagged", confirmed.key: "reported"}


def test_a_seller_with_many_listings_is_split_into_bundles_the_channel_accepts(tmp_path, fresh_sandbox, catalogue,
                                                                              monkeypatch):
    rows = harmful_rows(catalogue, "marketplace", 5, 1)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    monkeypatch.setattr(SandboxIntake, "max_bundle", 2)
    assert file_confirmed(path, _config(marketplace={}), ManualClock())["sent"] == 3
    bundles = sorted(len(r["listings"]) for r in _sandbox_reports(fresh_sandbox))
    assert bundles == [1, 2, 2]
    sellers = {r["seller_id"] for r in _db_rows(path, "SELECT seller_id FROM reports")}
    assert sellers == {f"marketplace:{rows[0].seller_id}"}


def test_the_reviewers_category_overrides_the_models(tmp_path, fresh_sandbox, catalogue):
    row = next(r for r in catalogue.market.values() if r.label == "sms_bomber")
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    db = open_db(path)
    with db.conn:
        db.execute("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, decided_at) "
                   "VALUES (?, 1, 'reviewer@example.org', 'confirmed', 'call_bomber', '', '2026-11-28T08:00:00+00:00')",
                   [row.key])
    db.close()
    file_confirmed(path, _config(marketplace={}), ManualClock())
    assert [r["category"] for r in _sandbox_reports(fresh_sandbox)] == ["call_bomber"]
    assert _db_rows(path, "SELECT category FROM reports") == [{"category": "call_bomber"}]


def test_email_not_configured_is_skipped_not_failed(tmp_path, fresh_sandbox, catalogue):
    rows = harmful_rows(catalogue, "marketplace", 1, 1)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    summary = file_confirmed(path, Config(FAST), ManualClock())          # default channels: intake + e-mail
    assert summary["sent"] == 1 and "email@marketplace" in summary["not_configured"]
    assert [r["channel"] for r in _db_rows(path, "SELECT channel FROM reports")] == ["sandbox_intake"]


def test_a_listing_rejected_before_sending_is_taken_out(tmp_path, fresh_sandbox, catalogue):
    from takedown.delivery import send_pending
    from takedown.outbox import plan_reports
    from store.states import transition

    rows = harmful_rows(catalogue, "marketplace", 2, 1)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    db = open_db(path)
    assert plan_reports(db, _config(marketplace={}), ManualClock(), path) == 1
    with db.conn:
        transition(db.conn, rows[0].key, "rejected", "second-reviewer", "a phone case after all")
    send_pending(db, _config(marketplace={}), ManualClock(), path)
    db.close()
    assert [r["listings"] for r in _sandbox_reports(fresh_sandbox)] == [[rows[1].key]]


# -- exactly once ---------------------------------------------------------------------------------
class CrashAfterSend(SandboxIntake):
    """The real intake, then the process 'dies' before Sweep records the receipt."""

    crashes = 1

    def file(self, report):
        receipt = super().file(report)
        if CrashAfterSend.crashes:
            CrashAfterSend.crashes -= 1
            raise KeyboardInterrupt("killed between send and commit")
        return receipt


def test_a_crash_between_send_and_commit_is_recovered_without_a_duplicate(tmp_path, fresh_sandbox, catalogue,
                                                                         monkeypatch):
    rows = harmful_rows(catalogue, "marketplace", 1, 3)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    monkeypatch.setitem(CHANNELS, "sandbox_intake", CrashAfterSend)
    with pytest.raises(KeyboardInterrupt):
        file_confirmed(path, _config(marketplace={}), ManualClock())
    pending = _db_rows(path, "SELECT state, attempts FROM reports WHERE attempts > 0")
    assert pending == [{"state": "pending", "attempts": 1}]                # sent, but not known to be
    assert len(_sandbox_reports(fresh_sandbox)) == 1
    summary = file_confirmed(path, _config(marketplace={}), ManualClock())
    assert summary["recovered"] == 1 and summary["sent"] == 2
    received = _sandbox_reports(fresh_sandbox)
    assert len(received) == 3 and len({r["idempotency_key"] for r in received}) == 3
    db_reports = _db_rows(path, "SELECT receipt, idempotency_key, state FROM reports")
    assert {r["state"] for r in db_reports} == {"sent"}
    assert {(r["receipt"], r["idempotency_key"]) for r in db_reports} == \
        {(r["report_id"], r["idempotency_key"]) for r in received}


class EmailCrashAfterSend(EmailChannel):
    """Real SMTP, then the process 'dies' before Sweep records that the message went out."""

    crashes = 1

    def file(self, report):
        receipt = super().file(report)
        if EmailCrashAfterSend.crashes:
            EmailCrashAfterSend.crashes -= 1
            raise KeyboardInterrupt("killed between send and commit")
        return receipt


def test_an_email_resent_after_a_crash_carries_the_same_message_id(tmp_path, fresh_sandbox, catalogue, smtp_server,
                                                                    monkeypatch):
    smtp_server.clear()
    rows = harmful_rows(catalogue, "marketplace", 1, 2)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    monkeypatch.setitem(CHANNELS, "email", EmailCrashAfterSend)
    config = Config({**FAST, "channels": {"smtp": smtp_server.config()},
                     "platforms": {"marketplace": {"channels": ["email"], "abuse_email": "abuse@marketplace.example"}}})
    with pytest.raises(KeyboardInterrupt):
        file_confirmed(path, config, ManualClock())
    summary = file_confirmed(path, config, ManualClock())
    assert summary["sent"] == 2 and summary["failed"] == 0
    # SMTP cannot be asked, so the first report went twice (at least once) — recognisably the same one
    sent = [m.message for m in smtp_server.messages]
    by_id = Counter(m["Message-ID"] for m in sent)
    assert len(sent) == 3 and len(by_id) == 2 and sorted(by_id.values()) == [1, 2]
    [twice] = [mid for mid, n in by_id.items() if n == 2]
    assert [m["X-Sweep-Attempt"] for m in sent if m["Message-ID"] == twice] == ["1", "2"]
    db_reports = _db_rows(path, "SELECT receipt, idempotency_key, state FROM reports")
    assert {r["state"] for r in db_reports} == {"sent"}
    assert {r["receipt"] for r in db_reports} == set(by_id)
    assert {f"<{r['idempotency_key']}@example.org>" for r in db_reports} == set(by_id)


def test_killing_the_filing_process_mid_batch_loses_and_duplicates_nothing(tmp_path, fresh_sandbox, catalogue):
    rows = harmful_rows(catalogue, "marketplace", 2, 12) + harmful_rows(catalogue, "appstore", 1, 6)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    config = tmp_path / "sweep.toml"
    config.write_text('[reports]\ncapture_evidence = false\nrequire_evidence = false\n'
                      '[platforms.marketplace]\nchannels = ["sandbox_intake"]\nrate_limit_per_minute = 200\n'
                      '[platforms.appstore]\nchannels = ["sandbox_intake"]\nrate_limit_per_minute = 200\n')
    args = [sys.executable, "-m", "cli", "report", "--db", str(path), "--config", str(config), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_sandbox_reports(fresh_sandbox)) < 4:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    states = Counter(r["state"] for r in _db_rows(path, "SELECT state FROM reports"))
    assert states["pending"] > 0, f"the kill came too late to test anything: {states}"

    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["failed"] == 0 and summary["planned"] == 0              # nothing re-planned: the outbox held it

    received = _sandbox_reports(fresh_sandbox) + _sandbox_reports(fresh_sandbox, "appstore")
    keys = Counter(r["idempotency_key"] for r in received)
    assert max(keys.values()) == 1                                           # no duplicate report
    listed = Counter(k for r in received for k in r["listings"])
    assert set(listed) == {r.key for r in rows} and max(listed.values()) == 1   # none lost, none twice
    db_reports = _db_rows(path, "SELECT state, receipt, idempotency_key FROM reports")
    assert {r["state"] for r in db_reports} == {"sent"} and len(db_reports) == len(received)
    assert {(r["receipt"], r["idempotency_key"]) for r in db_reports} == \
        {(r["report_id"], r["idempotency_key"]) for r in received}
    assert {r["state"] for r in _db_rows(path, "SELECT state FROM listings")} == {"reported"}


# -- retries, backoff, rate limits ------------------------------------------------------------------------
def test_transient_failures_back_off_then_succeed_or_give_up(tmp_path, fresh_sandbox, catalogue):
    rows = harmful_rows(catalogue, "marketplace", 1, 1)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    down = _config(marketplace={"report_url": "http://127.0.0.1:9"})
    clock = ManualClock()
    summary = file_confirmed(path, down, clock)
    assert summary["retrying"] == 1 and clock.slept > 0                    # quick retries waited first
    [r] = _db_rows(path, "SELECT attempts, state, next_attempt_at, error FROM reports")
    assert r["state"] == "pending" and r["attempts"] == 3 and "ConnectionError" in r["error"]
    assert r["next_attempt_at"] == "2026-11-28T09:04:01+00:00"             # 60 s × 2^(3-1) after the last try
    assert file_confirmed(path, down, clock)["retrying"] == 0              # not due yet: nothing tried
    assert _db_rows(path, "SELECT attempts FROM reports")[0]["attempts"] == 3
    clock.advance(minutes=5)
    assert file_confirmed(path, _config(marketplace={}), clock)["sent"] == 1
    assert len(_sandbox_reports(fresh_sandbox)) == 1

    rows2 = harmful_rows(catalogue, "appstore", 1, 1)
    seed_db(path, fresh_sandbox.urls, rows2)
    give_up = Config({**FAST, "reports": {**FAST["reports"], "max_attempts": 2},
                      "platforms": {"appstore": {"channels": ["sandbox_intake"], "report_url": "http://127.0.0.1:9"}}})
    assert file_confirmed(path, give_up, clock)["failed"] == 1
    failed = _db_rows(path, "SELECT id, state, error FROM reports WHERE platform = 'appstore'")[0]
    assert failed["state"] == "failed" and failed["error"].startswith("gave up after 2 attempts")
    db = open_db(path)
    assert retry_failed(db, clock) == 1
    db.close()
    assert file_confirmed(path, _config(appstore={}), clock)["sent"] == 1


def test_sends_are_spaced_by_the_platform_rate_limit(tmp_path, fresh_sandbox, catalogue):
    rows = harmful_rows(catalogue, "marketplace", 1, 5)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    clock = ManualClock()
    assert file_confirmed(path, _config(marketplace={"rate_limit_per_minute": 30}), clock)["sent"] == 5
    assert clock.slept == pytest.approx(4 * 2.0, abs=0.01)                  # 2 s apart, the first at once
    sent = [r["sent_at"] for r in _db_rows(path, "SELECT sent_at FROM reports ORDER BY id")]
    assert sent == ["2026-11-28T09:00:00+00:00", "2026-11-28T09:00:02+00:00", "2026-11-28T09:00:04+00:00",
                    "2026-11-28T09:00:06+00:00", "2026-11-28T09:00:08+00:00"]


def test_only_one_filer_at_a_time(tmp_path, fresh_sandbox, catalogue):
    rows = harmful_rows(catalogue, "marketplace", 1, 1)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    with filer_lock(path) as mine:
        assert mine
        assert file_confirmed(path, _config(marketplace={}), ManualClock())["busy"] is True
    assert _sandbox_reports(fresh_sandbox) == []
    assert file_confirmed(path, _config(marketplace={}), ManualClock())["sent"] == 1


def test_cli_report_lists_what_was_filed(tmp_path, fresh_sandbox, catalogue):
    from click.testing import CliRunner

    from cli.main import cli

    rows = harmful_rows(catalogue, "marketplace", 1, 2)        # two sellers: two reports
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    config = tmp_path / "sweep.toml"
    config.write_text('[reports]\ncapture_evidence = false\nrequire_evidence = false\n')
    out = CliRunner().invoke(cli, ["report", "--db", str(path), "--config", str(config),
                                   "--now", "2026-11-28T09:00:00Z", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.splitlines()[0])["sent"] == 2
    listed = CliRunner().invoke(cli, ["report", "--db", str(path), "--list"])
    assert "sandbox_intake" in listed.output and "sent" in listed.output
    assert len([line for line in listed.stdout.splitlines() if "listing(s)" in line]) == 2
    assert "--limit 0" not in listed.output
    # --list is bounded: the newest N, and it says how many more there are.
    everything = CliRunner().invoke(cli, ["report", "--db", str(path), "--list", "--limit", "0", "--json"])
    newest = CliRunner().invoke(cli, ["report", "--db", str(path), "--list", "--limit", "1", "--json"])
    shown = [json.loads(line) for line in newest.stdout.splitlines()]
    assert len(shown) == 1 and shown[0]["id"] == max(json.loads(line)["id"] for line in everything.stdout.splitlines())
    assert "the newest 1 of 2 reports" in newest.stderr
    missing = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code != 0 and "no such database" in missing.output
    assert not (tmp_path / "nope.db").exists()
    bad = CliRunner().invoke(cli, ["report", "--db", str(path), "--now", "yesterday"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


@pytest.mark.parametrize("platform_toml, message", [
    ('channels = ["fax"]', "unknown channel 'fax'"),
    ('channels = "email"', "must be a list of names"),
    ('escalation = ["refile", "pigeon"]', "unknown channel 'pigeon'"),
    ('deadline_hours = "two days"', "must be a non-negative number"),
])
def test_bad_config_is_a_clear_error_and_writes_nothing(tmp_path, catalogue, platform_toml, message):
    from click.testing import CliRunner

    from cli.main import cli

    rows = harmful_rows(catalogue, "marketplace", 1, 1)
    path = seed_db(tmp_path / "sweep.db", {"marketplace": "http://127.0.0.1:9"}, rows)
    config = tmp_path / "sweep.toml"
    config.write_text(f'[reports]\ncapture_evidence = false\nrequire_evidence = false\n'
                      f'[platforms.marketplace]\n{platform_toml}\n')
    out = CliRunner().invoke(cli, ["report", "--db", str(path), "--config", str(config)])
    assert out.exit_code == 1 and message in out.output and "Traceback" not in out.output
    assert _db_rows(path, "SELECT * FROM reports") == [] and _db_rows(path, "SELECT * FROM report_listings") == []
    assert {r["state"] for r in _db_rows(path, "SELECT state FROM listings")} == {"confirmed"}


def test_reports_state_is_constrained(tmp_path):
    import sqlite3

    db = open_db(tmp_path / "s.db")
    db.execute("INSERT INTO reports (channel, platform, idempotency_key) VALUES ('email', 'm', 'k1')")
    db.conn.commit()
    with pytest.raises(sqlite3.IntegrityError, match="pending, sent or failed"):
        db.execute("UPDATE reports SET state = 'lost'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO reports (channel, platform, idempotency_key) VALUES ('email', 'm', 'k1')")
    db.close()


def test_module_exports_the_scheduler_hooks():
    from takedown.evidence import capture_flagged
    from takedown.recheck import recheck_due

    assert callable(reports_mod.file_confirmed) and callable(capture_flagged) and callable(recheck_due)
