"""Packaging: optional parts are extras, make installs them all, and a missing one is named with its extra;
a feed export writes Chinese as UTF-8."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

import pytest

from tests.helpers import ROOT
from tests.fixtures_ops import bundled_profile, write_profile


def test_optional_packages_are_extras_that_make_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[=<>]", d)[0] for d in project["dependencies"]}
    extras = {name: {re.split(r"[=<>]", d)[0] for d in pkgs} for name, pkgs in project["optional-dependencies"].items()}
    assert not deps & {"aiosmtpd", "scrapy-redis", "redis", "matplotlib", "aiohttp"}
    assert "aiosmtpd" in extras["test"]
    assert extras["distributed"] == {"scrapy-redis", "redis"} and extras["plots"] == {"matplotlib"}
    assert extras["sandbox"] == {"aiohttp"}
    assert project["requires-python"] == ">=3.11"
    assert "pip install -q -e '.[test,distributed,plots,sandbox]'" in (ROOT / "Makefile").read_text()


def _without(modules: list[str], *args: str) -> subprocess.CompletedProcess:
    """`sweep ARGS` in a process where importing MODULES fails, as when their extra is not installed."""
    code = (f"import sys\nfor m in {modules!r}: sys.modules[m] = None\n"
            f"from cli.main import cli\ncli({list(args)!r}, prog_name='sweep')")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          text=True, capture_output=True, timeout=120)


@pytest.mark.slow                    # one `sweep` subprocess per missing extra
def test_a_command_needing_a_missing_extra_says_which(tmp_path):
    cases = {("redis", "scrapy_redis"): (["worker", "--platform", "appstore"], "distributed"),
             ("aiohttp",): (["sandbox", "--port-base", "0"], "sandbox"),
             ("aiohttp", "aiohttp.web"): (["demo", "--db", str(tmp_path / "d.db"), "--no-serve"], "sandbox")}
    for modules, (args, extra) in cases.items():
        proc = _without(list(modules), *args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert f"in Sweep's optional {extra!r} extra: pip install -e '.[{extra}]'" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_scrapy_feed_export_writes_chinese_as_utf8(sandbox, model_path, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    app = bundled_profile("appstore")
    app["seeds"] = {"search": app["seeds"]["search"], "keywords": ["猫池"]}
    app["base_url"] = sandbox.urls["appstore"]
    write_profile(profiles, app)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "appstore", "-a", "profile=appstore",
                           "-O", str(out),
                           "-s", f"SWEEP_DB={tmp_path / 'feed.db'}", "-s", f"SWEEP_PROFILES_DIR={profiles}",
                           "-s", "LOG_LEVEL=WARNING"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    raw = out.read_text(encoding="utf-8")
    items = json.loads(raw)
    assert items and any("猫池" in json.dumps(i, ensure_ascii=False) for i in items)
    assert "猫池" in raw and "\\u" not in raw
