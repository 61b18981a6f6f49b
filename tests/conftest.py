"""Session-wide fixtures: one sandbox, one full crawl of it, the bundled model; and the test tiers.

Everything here is real: the sandbox is the aiohttp server in its own process on
127.0.0.1, crawls are `sweep` subprocesses running Scrapy (and Chromium for the pages
that need it), and the database is a SQLite file.

Tiers: a test is marked by the fixtures it uses, directly or through other fixtures (TIERS), so
`make test-fast` (``-m "not (crawl or browser or redis or training or slow)"``) needs no list of
files to keep current. Tests that start such parts without a fixture carry the mark themselves.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from classifier.artifact import DEFAULT_MODEL
from sandbox.catalogue import Catalogue
from sandbox.process import SandboxProcess
from tests.helpers import ROOT, base_url_args, read_jsonl, sweep

__all__ = ["ROOT", "SEED", "base_url_args", "read_jsonl", "sweep"]     # older test modules import these from here

pytest_plugins = ["tests.fixtures_review", "tests.fixtures_takedown", "tests.fixtures_ops", "tests.fixtures_faults",
                  "tests.fixtures_crawl"]

SEED = 2018

# fixture -> the tier it puts a test in
TIERS = {
    "sandbox": "crawl", "fresh_sandbox": "crawl", "fault_sandbox": "crawl", "crawled_db": "crawl",
    "probe_site": "crawl", "small_profiles": "crawl",
    "browser": "browser", "evidenced_db": "browser",
    "redis_server": "redis",
    "small_corpus": "training",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in TIERS.keys() & set(item.fixturenames):
            item.add_marker(TIERS[fixture])


@pytest.fixture(scope="session")
def model_path() -> Path:
    if not DEFAULT_MODEL.exists():
        from classifier.train import train

        train(log=lambda m: None)
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def sandbox():
    """The shared sandbox. Tests must not report listings on it (use `fresh_sandbox`)."""
    with SandboxProcess(seed=SEED, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox():
    """A private sandbox for tests that change platform state (reports, removals, rate limits)."""
    with SandboxProcess(seed=SEED, rate_limit=0, takedown_delay=0.3) as sb:
        yield sb


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue(SEED)


@pytest.fixture(scope="session")
def crawled_db(sandbox, model_path, tmp_path_factory) -> Path:
    """One full `sweep crawl` of the shared sandbox; tests read but do not write it."""
    db = tmp_path_factory.mktemp("crawl") / "sweep.db"
    proc = sweep("crawl", "--db", str(db), *base_url_args(sandbox.urls))
    (db.parent / "crawl.log").write_text(proc.stderr)
    return db
