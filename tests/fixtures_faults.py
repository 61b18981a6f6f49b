"""Fault-mode fixtures (loaded by tests/conftest.py through pytest_plugins).

``fault_sandbox`` is the real sandbox with ``--faults``, one per test module (crash-once pages keep
per-process state). :func:`fault_crawl` runs a real ``scrapy crawl`` subprocess of one platform
whose profile — the bundled one, in tmp_path — is seeded with the sandbox's ``/faults/list`` page,
and hands back its stats, log and database. Classification is left out of these crawls (the
model costs seconds of CPU to load and is not what they test); every other pipeline stage runs.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from crawler import settings as crawl_settings
from sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
KIND = {"marketplace": "ecommerce", "appstore": "appstore", "forum": "forum"}
PIPELINES = {k: v for k, v in crawl_settings.ITEM_PIPELINES.items() if not k.endswith("ClassifyPipeline")}
_STAT = re.compile(r"^\W*'([^']+)': (-?\d+(?:\.\d+)?)[,}]?$", re.M)


@pytest.fixture(scope="module")
def fault_sandbox():
    with SandboxProcess(seed=2018, rate_limit=0, faults=True) as sb:
        yield sb


@dataclass
class FaultCrawl:
    returncode: int
    log: str
    stats: dict
    db: Path

    def stat(self, name: str) -> float:
        return self.stats.get(name, 0)

    def rows(self, sql: str, *params) -> list[sqlite3.Row]:
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def listing(self, listing_id: str) -> sqlite3.Row | None:
        found = self.rows("SELECT * FROM listings WHERE id = ?", listing_id)
        return found[0] if found else None

    def lines(self, *needles: str) -> list[str]:
        """Log lines containing every needle."""
        return [ln for ln in self.log.splitlines() if all(n in ln for n in needles)]


def write_profile(directory: Path, platform: str, seed_query: str, **listing_overrides) -> Path:
    """The bundled profile of ``platform``, seeded only with ``/faults/list?<seed_query>``."""
    data = yaml.safe_load((ROOT / "crawler" / "profiles" / f"{platform}.yaml").read_text(encoding="utf-8"))
    data["seeds"] = {"pages": [f"/faults/list?{seed_query}"]}
    for key, value in listing_overrides.items():
        if value is None:
            data["listing"].pop(key, None)
        else:
            data["listing"][key] = value
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{platform}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def fault_crawl(tmp_path: Path, sandbox, platform: str, seed_query: str, settings: dict | None = None,
                timeout: float = 240, **listing_overrides) -> FaultCrawl:
    """One real crawl of ``platform`` on the fault sandbox; every setting can be overridden."""
    profiles = tmp_path / "profiles"
    write_profile(profiles, platform, seed_query, **listing_overrides)
    db = tmp_path / "faults.db"
    args = [sys.executable, "-m", "scrapy", "crawl", KIND[platform], "-a", f"profile={platform}",
            "-a", f"profiles_dir={profiles}", "-a", f"base_url={sandbox.urls[platform]}",
            "-s", f"SWEEP_DB={db}", "-s", "LOG_LEVEL=INFO", "-s", f"ITEM_PIPELINES={json.dumps(PIPELINES)}"]
    for key, value in (settings or {}).items():
        args += ["-s", f"{key}={json.dumps(value) if isinstance(value, (dict, list)) else value}"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    (tmp_path / "crawl.log").write_text(proc.stderr)
    dump = proc.stderr.rpartition("Dumping Scrapy stats:")[2]
    stats = {k: float(v) for k, v in _STAT.findall(dump)}
    m = re.search(r"'finish_reason': '(\w+)'", dump)
    stats["finish_reason"] = m.group(1) if m else None
    return FaultCrawl(proc.returncode, proc.stderr, stats, db)
