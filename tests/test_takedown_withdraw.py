"""Issue 13: taking a sent report back (reopen → withdrawal through the channel, or recorded as
unsupported) and listings whose escalation ran out ("needs a person"), against the sandbox."""
from __future__ import annotations

import json

import requests
from click.testing import CliRunner

from cli.main import cli
from common.clock import ManualClock
from common.config import Config
from store.db import open_db
from takedown.escalation import needing_person
from takedown.recheck import recheck_due
from takedown.reports import file_confirmed
from takedown.withdrawals import UNSUPPORTED, send_withdrawals
from review.queue import Review
from tests.fixtures_takedown import seed_db

SANDBOX = ("marketplace", "appstore", "forum")


def _config(escalation=None):
    platforms = {name: {"channels": ["sandbox_intake"], **({"escalation": escalation} if escalation is not None
                                                            else {})} for name in SANDBOX}
    return Config({"reports": {"capture_evidence": False, "require_evidence": False}, "platforms": platforms})


def _never(catalogue, n=1):
    rows = [r for r in catalogue.market.values() if r.label != "benign" and r.outcome == "never"]
    return rows[:n]


def test_a_reopened_listing_has_its_report_withdrawn_where_the_channel_can(tmp_path, fresh_sandbox, catalogue):
    row = _never(catalogue)[0]
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    clock = ManualClock("2026-11-28T09:00:00+00:00")
    assert file_confirmed(path, _config(), clock)["sent"] == 1
    db = open_db(path)
    try:
        receipt, = db.execute("SELECT receipt FROM reports WHERE state = 'sent'").fetchone()
        # A second, e-mailed report of the same listing: e-mail cannot be taken back.
        cur = db.execute("INSERT INTO reports (channel, platform, idempotency_key, state, attempts, receipt) "
                         "VALUES ('email', 'marketplace', 'k-mail', 'sent', 1, '<m@example.org>')")
        db.execute("INSERT INTO report_listings (report_id, listing_id) VALUES (?, ?)", [cur.lastrowid, row.key])
        db.conn.commit()
        Review(db).reopen(row.key, "root", "licensed reseller of test equipment")
        assert send_withdrawals(db, _config(), clock, path) == {"withdrawn": 1, "unsupported": 1, "withdraw_errors": 0}
        assert send_withdrawals(db, _config(), clock, path) == {"withdrawn": 0, "unsupported": 0,
                                                                "withdraw_errors": 0}      # once
        status = requests.get(f"{fresh_sandbox.urls['marketplace']}/api/report/{receipt}", timeout=10).json()
        assert status["withdrawn"] == [row.key]
        audit = db.execute("SELECT action, json_extract(detail, '$.reason') FROM audit_log WHERE listing_id = ? "
                           "AND action LIKE 'report:withdrawal_%' ORDER BY id", [row.key]).fetchall()
        assert audit == [("report:withdrawal_withdrawn", f"withdrawn via sandbox_intake (receipt {receipt})"),
                         ("report:withdrawal_unsupported", UNSUPPORTED)]
        assert db.execute("SELECT state FROM listings WHERE id = ?", [row.key]).fetchone()[0] == "flagged"
    finally:
        db.close()


def test_an_undone_listing_is_never_sent(tmp_path, fresh_sandbox, catalogue):
    rows = _never(catalogue, 2)
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, rows)
    clock = ManualClock("2026-11-28T09:00:00+00:00")
    db = open_db(path)
    try:
        from takedown.outbox import plan_reports

        assert plan_reports(db, _config(), clock, path) >= 1
        for r in rows:
            Review(db).undo(r.key, "reviewer@example.org", "wrong seller")
    finally:
        db.close()
    summary = file_confirmed(path, _config(), clock)
    assert summary["sent"] == 0
    received = requests.get(fresh_sandbox.urls["marketplace"] + "/api/reports", timeout=10).json()
    assert not any(set(r["listings"]) & {x.key for x in rows} for r in received)


def test_when_escalation_runs_out_the_listing_needs_a_person(tmp_path, fresh_sandbox, catalogue):
    row = _never(catalogue)[0]
    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, [row])
    config = _config(escalation=[])                   # no ladder: the first missed deadline is the end
    clock = ManualClock("2026-11-28T09:00:00+00:00")
    assert file_confirmed(path, config, clock)["sent"] == 1
    clock.advance(hours=49)
    first = recheck_due(path, config, clock)
    assert (first["still_live"], first["escalated"], first["needs_person"]) == (1, 0, 1)
    clock.advance(hours=25)
    assert recheck_due(path, config, clock)["needs_person"] == 0     # recorded once per stay
    db = open_db(path)
    try:
        assert [r["id"] for r in needing_person(db)] == [row.key]
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'needs_person'").fetchone()[0] == 1
    finally:
        db.close()
    assert file_confirmed(path, config, clock)["needs_person"] == 1
    cfg = tmp_path / "sweep.toml"
    cfg.write_text('[reports]\ncapture_evidence = false\nrequire_evidence = false\n'
                   '[platforms.marketplace]\nchannels = ["sandbox_intake"]\nescalation = []\n')
    out = CliRunner().invoke(cli, ["report", "--db", str(path), "--config", str(cfg), "--now", "2026-12-01T12:00:00Z"])
    assert out.exit_code == 0, out.output
    assert "1 listing(s) need a person: still live after every escalation step" in out.output
    as_json = CliRunner().invoke(cli, ["report", "--db", str(path), "--config", str(cfg), "--json",
                                       "--now", "2026-12-01T12:00:00Z"])
    assert json.loads(as_json.output)["needs_person"] == 1
