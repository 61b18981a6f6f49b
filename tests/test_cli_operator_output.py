"""What operators see on the terminal and in cron mail: quiet on success, one line per problem,
progress only at a terminal, no Referer sent and no warnings about it."""
from __future__ import annotations

import socket

from tests.conftest import sweep
from tests.fixtures_ops import probe_profile, write_profile


def refused_port() -> int:
    with socket.socket() as s:      # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cron_cycle_on_the_sandbox_prints_nothing_on_success(sandbox, model_path, small_profiles, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)          # no ./sweep.toml of the checkout's
    monkeypatch.delenv("SWEEP_CONFIG", raising=False)
    db = tmp_path / "cron.db"
    proc = sweep("schedule", "--once", "--db", str(db), "--profiles", str(small_profiles),
                 "--base-url", f"appstore={sandbox.urls['appstore']}")      # stdout and stderr are pipes
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    verbose = sweep("schedule", "--once", "-v", "--db", str(db), "--profiles", str(small_profiles),
                    "--base-url", f"appstore={sandbox.urls['appstore']}")
    assert verbose.stdout.startswith(
        "cycle run 2: ok (crawl ok, evidence ok, reports ok, endpoints ok, notify ok, recheck ok)")


def test_no_referer_is_sent_and_scrapy_does_not_warn_about_it(probe_site, probe_profiles, model_path, tmp_path):
    probe_site.links = ["/item/1", "/item/2", "/redirect?to=/item/3"]
    proc = sweep("crawl", "--db", str(tmp_path / "ref.db"), "--profiles", str(probe_profiles))
    assert {h["path"] for h in probe_site.hits} >= {"/list", "/item/1", "/item/2", "/item/3"}
    assert [h for h in probe_site.hits if h["referer"] is not None] == []
    assert "Referer" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr


def test_an_unreachable_platform_is_one_line_with_the_fix(tmp_path, model_path):
    port = refused_port()
    write_profile(tmp_path, probe_profile(f"http://127.0.0.1:{port}"))
    args = ["run", "--db", str(tmp_path / "down.db"), "--profiles", str(tmp_path)]
    proc = sweep(*args, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Spidermon" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 3, proc.stderr
    assert lines[-1] == (f"Error: probe: cannot reach http://127.0.0.1:{port} (connection refused) — is the platform "
                         f"up, and is its address right (base_url in {tmp_path / 'probe.yaml'}, or --base-url)? "
                         f"-v shows every request")
    verbose = sweep(*args, "-v", check=False)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr     # the detail, when asked for


def run_under_pty(args: list[str], timeout: float = 300) -> tuple[int, str]:
    """`sweep ARGS` with stderr on a pseudo-terminal (stdout a pipe); returns (exit code, what the terminal got)."""
    import os
    import re
    import subprocess
    import sys
    import threading

    from tests.conftest import ROOT

    master, slave = os.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=slave, text=True)
    os.close(slave)
    chunks: list[bytes] = []

    def read():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:          # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc.communicate(timeout=timeout)
    reader.join(10)
    os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace")
    return proc.returncode, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "\n")


def test_crawl_progress_shows_at_a_terminal_only_and_agrees_with_the_summary(sandbox, model_path, small_profiles,
                                                                              tmp_path):
    import json
    import sqlite3

    db = tmp_path / "progress.db"
    args = ["crawl", "--db", str(db), "--profiles", str(small_profiles), "--base-url",
            f"appstore={sandbox.urls['appstore']}"]
    code, terminal = run_under_pty(args)
    assert code == 0, terminal
    run = json.loads(sweep("runs", "--db", str(db), "--json").stdout.splitlines()[0])
    p = run["platform_stats"]["appstore"]
    flagged = sqlite3.connect(db).execute("SELECT count(*) FROM listings WHERE flagged = 1").fetchone()[0]
    assert p["listings"] > 0 and flagged > 0
    assert (f"[appstore] done: {p['pages']} pages, {p['listings']} listings ({p['new']} new, {p['changed']} changed), "
            f"{flagged} flagged") in terminal, terminal
    # A second crawl through pipes (cron): no progress at all; the counts line is the command's output.
    proc = sweep(*args)
    assert "[appstore]" not in proc.stderr and "pages" not in proc.stderr, proc.stderr


def test_a_mistyped_config_key_is_an_error_naming_the_nearest_key(write_config, tmp_path):
    config = write_config('[schedule]\ncycels = ["0 */6 * * *"]\n[platforms.marketplace]\ndeadline_hour = 12\n')
    proc = sweep("schedule", "--once", "--db", str(tmp_path / "t.db"), "--config", str(config), check=False)
    assert proc.returncode == 1 and not (tmp_path / "t.db").exists()
    assert proc.stderr.strip() == (f"Error: {config}: [platforms.marketplace] unknown key 'deadline_hour' "
                                   "(did you mean 'deadline_hours'?); "
                                   "[schedule] unknown key 'cycels' (did you mean 'cycles'?)")
    write_config('[schedul]\ncycles = ["0 */6 * * *"]\n')
    proc = sweep("recheck", "--db", str(tmp_path / "t.db"), "--config", str(config), check=False)
    assert proc.returncode == 1 and "no such database" in proc.stderr
    from common.config import ConfigError, load_config

    import pytest

    with pytest.raises(ConfigError, match=r"unknown key 'schedul' \(did you mean 'schedule'\?\)"):
        load_config(config)


def test_read_only_commands_refuse_a_missing_database_instead_of_creating_it(tmp_path):
    missing = tmp_path / "sweeep.db"
    for args in (["stats"], ["search", "猫池"], ["runs"], ["terms", "list"], ["terms", "propose"]):
        proc = sweep(*args, "--db", str(missing), check=False)
        assert proc.returncode == 1, args
        assert f"no database at {missing}" in proc.stderr, (args, proc.stderr)
        assert not missing.exists(), args


def test_run_help_states_the_exit_codes_it_uses(tmp_path):
    from click.testing import CliRunner

    from cli.main import cli

    shown = " ".join(CliRunner().invoke(cli, ["run", "--help"]).output.split())
    assert "non-zero only on real failure" not in shown       # a failed monitor check fails the run too
    assert ("0 when every platform was crawled and passed its monitor checks; 1 when a platform could not be "
            "reached, yielded no listings, ended early or failed a monitor check") in shown
    assert "2 for a mistyped command line" in shown
    assert CliRunner().invoke(cli, ["run", "--no-such-option"]).exit_code == 2


def test_long_steps_show_progress_at_a_terminal_and_nothing_through_a_pipe(model_path, tmp_path):
    import json

    from store.db import open_db

    src = tmp_path / "in.jsonl"
    # An offer that says what it does: a bare title plus a contact sits near the threshold (docs/classifier.md).
    rows = [{"title": "呼死你 软件 包月", "description": "云端呼叫，指定号码连续拨打，不限次数，联系QQ12345001"},
            {"title": "正规呼叫中心", "description": "企业服务"}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows * 150), encoding="utf-8")
    classify = ["classify", "--in", str(src), "--out", str(tmp_path / "out.jsonl"), "--workers", "1"]
    code, terminal = run_under_pty(classify)
    assert code == 0 and "classifying" in terminal and "300/300" in terminal, terminal
    piped = sweep(*classify)
    assert piped.stderr.strip().splitlines() == ["classified 300 listings (150 flagged); 0 malformed lines skipped; "
                                                 "0 lines with invalid Unicode repaired"]
    db = tmp_path / "steps.db"
    open_db(db).close()
    for step, shown in (("evidence", "capturing evidence"), ("report", "filing reports"),
                        ("recheck", "rechecking reported listings")):
        code, terminal = run_under_pty([step, "--db", str(db)])
        assert code == 0 and shown in terminal, (step, terminal)
        assert shown not in sweep(step, "--db", str(db)).stderr, step
