"""`sweep run` is one whole cycle (the one `sweep schedule --once` runs); `sweep crawl` is the crawl alone."""
from __future__ import annotations

import json
import socket

from tests.conftest import sweep
from tests.fixtures_ops import probe_profile, write_profile


def _refused_port() -> int:
    with socket.socket() as s:      # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_is_a_whole_cycle_and_crawl_only_crawls(tmp_path, model_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # no ./sweep.toml of the checkout's
    monkeypatch.delenv("SWEEP_CONFIG", raising=False)
    port = _refused_port()
    write_profile(tmp_path, probe_profile(f"http://127.0.0.1:{port}"))
    db = tmp_path / "down.db"
    ran = sweep("run", "--db", str(db), "--profiles", str(tmp_path), check=False)
    assert ran.returncode == 1
    assert ("cycle run 1: failed (crawl failed, evidence ok, reports ok, endpoints ok, notify ok, recheck ok)"
            in ran.stdout), ran.stdout
    assert ran.stderr.strip().splitlines()[-1].startswith(f"Error: probe: cannot reach http://127.0.0.1:{port}")
    crawled = sweep("crawl", "--db", str(db), "--profiles", str(tmp_path), check=False)
    assert crawled.returncode == 1 and "cycle" not in crawled.stdout
    runs = [json.loads(line) for line in sweep("runs", "--db", str(db), "--json").stdout.splitlines()]
    assert [bool(r["cycle"]) for r in runs] == [False, True]       # newest first: the crawl has no cycle steps
