"""`sweep schedule`: the timetable, two real cycles on an injected clock, overlap refusal, takeover
of a killed cycle's lock, and `sweep runs`."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from cli.main import cli
from common.clock import ManualClock
from common.config import Config, ConfigError
from ops.lock import DatabaseLock, read_holder
from ops.schedule import EX_TEMPFAIL, Scheduler, Timetable, run_step
from ops.steps import STEPS
from sandbox.endpointhost import EndpointHost
from tests.conftest import ROOT, sweep
from tests.helpers import wait_for

CRON = "0 */6 * * *"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def runs(db) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM crawl_runs ORDER BY id")]
    con.close()
    for r in rows:
        r["stats"] = json.loads(r["stats"] or "{}")
    return rows


# -- the timetable ---------------------------------------------------------------------------------
def test_next_fire_time_across_expressions_and_time_zones():
    table = Timetable.from_config(Config({"schedule": {"cycles": ["30 2 * * *", CRON], "timezone": "Asia/Shanghai"}}))
    # 05:59 UTC is 13:59 in Shanghai: the next "0 */6" there is 18:00 local = 10:00 UTC.
    assert table.next_after(utc("2025-01-01T05:59:00+00:00")) == (utc("2025-01-01T10:00:00+00:00"), CRON)
    # 18:10 UTC is 02:10 local: "30 2" comes first.
    assert table.next_after(utc("2025-01-01T18:10:00+00:00")) == (utc("2025-01-01T18:30:00+00:00"), "30 2 * * *")


@pytest.mark.parametrize("schedule, problem", [
    ({}, "no cycles to schedule"),
    ({"cycles": ["every six hours"]}, "not a cron expression"),
    ({"cycles": [CRON], "timezone": "Mars/Olympus"}, "unknown time zone"),
])
def test_bad_timetables_are_refused(schedule, problem):
    with pytest.raises(ConfigError, match=problem):
        Timetable.from_config(Config({"schedule": schedule}))


def test_scheduler_sleeps_on_the_clock_and_skips_fire_times_missed_during_a_cycle():
    clock = ManualClock("2025-01-01T05:59:30+00:00")
    started = []

    def cycle(due, expr):
        started.append((clock.now(), due))
        clock.advance(hours=7)               # a cycle that overruns the next fire time (12:00)

    Scheduler(Timetable([CRON]), cycle, clock=clock).run(max_cycles=2)
    assert started == [(utc("2025-01-01T06:00:00+00:00"),) * 2,
                       (utc("2025-01-01T18:00:00+00:00"),) * 2]      # 12:00 was missed, not made up
    assert clock.slept == pytest.approx(30 + 5 * 3600)


def test_a_failing_step_is_recorded_and_every_step_is_a_real_callable():
    failed = run_step("x", json.loads, "not json", Config(), None)
    assert failed["status"] == "failed" and "TypeError" in failed["detail"]
    assert [name for name, _ in STEPS] == ["evidence", "reports", "endpoints", "notify", "recheck"]
    assert all(callable(step) for _, step in STEPS)


# -- real cycles -----------------------------------------------------------------------------------
FILE_SECRET, ENV_SECRET = "tok-FILE-5ecret-8817", "pw-ENV-5ecret-4402"
CYCLE_CONFIG = f"""
[schedule]
cycles = ["{CRON}"]
heartbeat_seconds = 1

[evidence]
max_per_cycle = 1

[platforms.appstore]
token = "{FILE_SECRET}"

[channels.smtp]
host = "127.0.0.1"
port = 2525
username = "sweep"
password_env = "SWEEP_TEST_SMTP_PASSWORD"
"""


@pytest.fixture
def cycle_config(write_config, monkeypatch):
    monkeypatch.setenv("SWEEP_TEST_SMTP_PASSWORD", ENV_SECRET)
    return write_config(CYCLE_CONFIG, mode=0o600)


def test_a_scheduled_cycle_collects_abused_endpoints_and_files_their_owners_reports(fresh_sandbox, model_path,
                                                                                   tmp_path):
    db = tmp_path / "sweep.db"
    with EndpointHost() as host:
        settings = host.settings(contacts={"example.invalid": "abuse@example.invalid"})
        config = tmp_path / "sweep.toml"
        config.write_text("[evidence]\nmax_per_cycle = 1\n[endpoints]\n" + "".join(
            f"{key} = {json.dumps(value) if not isinstance(value, dict) else toml_table(value)}\n"
            for key, value in settings.items()), encoding="utf-8")
        sweep("schedule", "--once", "--db", str(db), "--config", str(config), "--platform", "codehost",
              "--base-url", f"codehost={fresh_sandbox.urls['codehost']}", check=False)
        assert host.hits == []                                       # never a request to an abused endpoint
    steps = runs(db)[-1]["stats"]["cycle"]["steps"]
    assert steps["crawl"]["status"] == "ok" and steps["endpoints"]["status"] == "ok"
    assert steps["endpoints"]["result"]["files"] > 0 and steps["notify"]["result"] == {"filed": 2}
    con = sqlite3.connect(db)
    filed = dict(con.execute("SELECT domain, report_id FROM endpoint_domains"))
    con.close()
    assert set(filed) == {"sandbox.test", "example.invalid"} and all(filed.values())


def toml_table(value: dict) -> str:
    return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + "}"


def test_schedule_runs_two_cycles_on_an_injected_clock(fresh_sandbox, model_path, small_profiles, cycle_config,
                                                       tmp_path, capfd):
    db = tmp_path / "sched.db"
    clock = ManualClock("2025-01-01T05:59:30+00:00")
    result = CliRunner().invoke(cli, ["schedule", "--db", str(db), "--config", str(cycle_config), "--profiles",
                                      str(small_profiles), "--base-url", f"appstore={fresh_sandbox.urls['appstore']}",
                                      "--max-cycles", "2"], obj={"clock": clock}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert clock.now() == utc("2025-01-01T12:00:00+00:00")          # slept (instantly) to each fire time
    assert "next cycle at 2025-01-01T12:00:00+00:00" in result.output
    first, second = runs(db)
    for run, due in ((first, "2025-01-01T06:00:00"), (second, "2025-01-01T12:00:00")):
        cycle = run["stats"]["cycle"]
        late = (utc(cycle["started"]) - utc(due + "+00:00")).total_seconds()
        assert cycle["trigger"] == CRON and 0 <= late < 120      # the child ran on the scheduler's time
        assert cycle["steps"]["crawl"]["status"] == "ok"
        assert set(cycle["steps"]) == {"crawl", "evidence", "reports", "endpoints", "notify", "recheck"}
        assert all(s["status"] in ("ok", "failed") for s in cycle["steps"].values())
        assert run["stats"]["platforms"]["appstore"]["listings"] > 0
    assert second["stats"]["platforms"]["appstore"]["unchanged"] == first["stats"]["platforms"]["appstore"]["new"]
    assert read_holder(db) is None                                  # each cycle gave the lock back
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(DISTINCT run_id) FROM monitor_results").fetchone()[0] == 2
    con.close()
    # Secrets from the private config file and the environment are in no database, log or evidence file.
    logs = capfd.readouterr()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != cycle_config]
    assert any(p.name.startswith("sched.db") for p in written)
    for secret in (FILE_SECRET, ENV_SECRET):
        assert secret not in result.output + logs.out + logs.err
        for path in written:
            assert secret.encode() not in path.read_bytes(), path


def test_a_cycle_is_refused_while_another_holds_the_lock(tmp_path, cycle_config):
    db = tmp_path / "busy.db"
    with DatabaseLock(db, purpose="a long cycle"):
        proc = sweep("schedule", "--once", "--db", str(db), "--config", str(cycle_config), check=False)
        assert proc.returncode == EX_TEMPFAIL
        assert f"pid {os.getpid()}" in proc.stderr and "another cycle" in proc.stderr
        # The scheduler keeps going when its cycle is refused.
        clock = ManualClock("2025-01-01T05:59:30+00:00")
        result = CliRunner().invoke(cli, ["schedule", "--db", str(db), "--config", str(cycle_config),
                                          "--max-cycles", "1"], obj={"clock": clock}, catch_exceptions=False)
        assert result.exit_code == 0 and "cycle refused" in result.output
    refused = runs(db)
    assert [r["outcome"] for r in refused] == ["skipped", "skipped"]
    assert all("a long cycle" in r["stats"]["cycle"]["refused"] for r in refused)
    listing = sweep("runs", "--db", str(db))
    assert "refused" in listing.stdout


def test_a_killed_cycle_leaves_a_lock_the_next_cycle_takes_over(sandbox, model_path, small_profiles, cycle_config,
                                                                 tmp_path):
    db = tmp_path / "killed.db"
    args = ["--db", str(db), "--config", str(cycle_config), "--profiles", str(small_profiles),
            "--base-url", f"appstore={sandbox.urls['appstore']}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    victim = subprocess.Popen([sys.executable, "-m", "cli", "schedule", "--once", *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: db.exists() and read_holder(db) is not None and runs(db), 60,
                 what="the cycle to take the lock and open its run")
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.wait()
    assert read_holder(db).pid == victim.pid              # the lock outlived its holder
    proc = sweep("schedule", "--once", *args)
    assert f"took over the lock of a stale cycle (pid {victim.pid}" in proc.stderr
    killed, done = runs(db)
    assert done["outcome"] == "ok" and f"pid {victim.pid}" in done["stats"]["cycle"]["took_over"]
    assert killed["outcome"] == "running"
    shown = sweep("runs", "--db", str(db), "--json").stdout.splitlines()
    assert [json.loads(line)["status"] for line in shown] == ["ok", "interrupted"]


def test_runs_shows_a_run_in_full(crawled_db, tmp_path):
    copy = tmp_path / "copy.db"
    src = sqlite3.connect(crawled_db)
    src.backup(sqlite3.connect(copy))
    src.close()
    checks = sqlite3.connect(copy).execute("SELECT count(*) FROM monitor_results WHERE run_id = 1").fetchone()[0]
    listing = sweep("runs", "--db", str(copy)).stdout
    flat = "".join(listing.split())            # the platforms column may wrap at the table's width
    assert "appstore,codehost,forum,marketplace,social" in flat and f"{checks}ok" in flat and checks >= 5 * 9
    full = sweep("runs", "--db", str(copy), "--id", "1").stdout
    for text in ("Monitor checks", "empty_seeds", "min_listings", "listings stored", "marketplace"):
        assert text in full
    assert sweep("runs", "--db", str(copy), "--id", "99", check=False).returncode != 0
