"""Session-wide fixtures: one sandbox, one full crawl of it, the bundled model; and the test tiers.

Everything here is real: the sandbox is the aiohttp server in its own process on
127.0.0.1, crawls are `sweep` subprocesses running Scrapy (and Chromium for the pages
that need it), and the database is a SQLite file.

Tiers: a test is marked by the fixtures it uses, directly or through other fixtures (TIERS), so
`make test-fast` (``-m "not (crawl or browser or redis or training or slow)"``) needs no list of
files to keep current. Tests that start such parts without a fixture, and the slowest of the rest,
carry the mark themselves (or, for now, in MARKED below).
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


# Marks of tests in modules other engineers are editing now (the classifier's, the takedown's, the CLI's):
# those that start a crawl or Chromium without a fixture, and the slowest of the rest — `sweep`
# subprocesses, model evaluations, large databases — measured with --durations. They move into the
# modules as decorators once those are free. An entry that names no test stops the run: a rename must
# not quietly move a slow test into the fast tier.
SLOW, CRAWL = ("slow",), ("crawl",)
MARKED = {
    "tests/test_cli_demo.py": {
        "test_the_demo_crawls_every_platform_flags_every_category_and_captures_evidence": ("crawl", "browser")},
    "tests/test_outbound_fetchers.py": {"test_crawl_refuses_redirects_to_internal_addresses": CRAWL},
    "tests/test_cli_operator_output.py": dict.fromkeys((
        "test_an_unreachable_platform_is_one_line_with_the_fix",
        "test_long_steps_show_progress_at_a_terminal_and_nothing_through_a_pipe",
        "test_read_only_commands_refuse_a_missing_database_instead_of_creating_it"), SLOW),
    "tests/test_store_db_errors.py": dict.fromkeys((
        "test_a_read_only_directory_is_one_line", "test_a_file_of_random_bytes_is_one_line_and_left_untouched",
        "test_a_read_only_database_is_one_line_and_left_untouched"), SLOW),
    "tests/test_ops_schedule.py": {"test_a_cycle_is_refused_while_another_holds_the_lock": SLOW},
    "tests/test_takedown_plans.py": dict.fromkeys((
        "test_cycle_steps_read_due_rows_by_index", "test_every_review_page_reads_by_index"), SLOW),
    "tests/test_takedown_relist.py": dict.fromkeys((
        "test_matching_is_incremental_and_the_stored_index_follows_takedowns",
        "test_links_by_seller_contact_and_text_but_not_by_accident"), SLOW),
    "tests/test_classifier_open_world.py": dict.fromkeys((
        "test_evaluate_background_and_dilute", "test_boilerplate_cannot_hide_an_offer"), SLOW),
    "tests/test_classifier_train.py": dict.fromkeys((
        "test_evaluate_defaults_to_the_frozen_split", "test_evaluate_prints_table_and_writes_json_and_png",
        "test_model_generalises_to_the_independent_holdout", "test_explanations_point_at_the_sellers_own_spelling",
        "test_terms_propose_approve_versions_the_dictionary"), SLOW),
    "tests/test_classifier_classify.py": dict.fromkeys((
        "test_each_kind_of_bad_line_is_reported_and_the_run_goes_on",
        "test_malformed_lines_are_reported_with_their_number_and_skipped",
        "test_hostile_and_huge_text_gets_a_prediction", "test_classify_adds_fields_and_passes_input_through",
        "test_artifact_refuses_tampering_and_other_versions"), SLOW),
    "tests/test_classifier_die_with_parent.py": {"test_sweep_classify_killed_takes_its_workers_with_it": SLOW},
}


def pytest_collection_modifyitems(config, items):
    modules = {item.nodeid.partition("::")[0]: item.module for item in items if hasattr(item, "module")}
    for path, tests in MARKED.items():
        missing = [name for name in tests if path in modules and not hasattr(modules[path], name)]
        if not (ROOT / path).exists() or missing:
            raise pytest.UsageError(f"tests/conftest.py MARKED names tests that do not exist: {path} {missing}")
    for item in items:
        for fixture in TIERS.keys() & set(item.fixturenames):
            item.add_marker(TIERS[fixture])
        path, _, name = item.nodeid.partition("[")[0].partition("::")
        for mark in MARKED.get(path, {}).get(name, ()):
            item.add_marker(mark)


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
