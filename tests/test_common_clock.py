"""One clock: no production code reads the time except through common/clock.py, and ``--now``
holds where it is offered (audit log, runs, lock)."""
from __future__ import annotations

import ast
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from common.clock import SYSTEM, ManualClock, OffsetClock, as_clock, parse_iso
from tests.conftest import ROOT
from tests.fixtures_takedown import harmful_rows, seed_db

# Not Sweep's production code: the tests, the benchmarks, and the sandbox, whose fake platforms live
# on real time like the platforms they stand in for (``--now`` moves Sweep, never the platforms).
SKIP_DIRS = {"tests", "bench", "sandbox", "build", "node_modules"}
# (file, expression): reads of the wall clock that must not follow ``--now``.
ALLOWED = {
    ("classifier/train.py", "dt.date.today()"),                           # the model card: when it was built
    ("classifier/train.py", "dt.datetime.now(dt.UTC)"),
}
NOW_TIME = {"time", "time_ns", "gmtime", "localtime", "ctime", "asctime", "strftime"}


def wall_clock_reads(root: Path) -> list[tuple[str, int, str]]:
    """(file, line, expression) of every read of the current time outside common/clock.py.

    ``datetime.now()``/``utcnow()``/``today()`` and ``date.today()`` (under any import alias),
    ``time.time()``/``time.time`` handed on as a clock, and ``time.gmtime()``, ``localtime()`` or
    ``strftime(fmt)`` without a time. ``time.monotonic``/``perf_counter`` measure durations: fine.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if (rel.parts[0] in SKIP_DIRS or any(p.startswith(".") for p in rel.parts)
                or rel.as_posix() == "common/clock.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes, modules, time_names = {"datetime", "date"}, {"datetime"}, {"time"}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
                for alias in node.names:
                    if node.module == "datetime" and alias.name in ("datetime", "date"):
                        classes.add(alias.asname or alias.name)
                    elif node.module == "time" and alias.name in NOW_TIME:
                        time_names.add(f"<{alias.asname or alias.name}>")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "datetime":
                        modules.add(alias.asname or alias.name)
                    elif alias.name == "time":
                        time_names.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            hit = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner, attr = ast.unparse(node.func.value), node.func.attr
                owner_class = owner in classes or (owner.partition(".")[0] in modules
                                                   and owner.partition(".")[2] in ("datetime", "date"))
                if owner_class and attr in ("now", "utcnow", "today"):
                    hit = node
                elif (owner in time_names and attr in NOW_TIME - {"time"}     # time.time: below, called or not
                      and len(node.args) < (2 if attr == "strftime" else 1)):
                    hit = node
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and f"<{node.func.id}>" in time_names:
                hit = node if not node.args else None
            elif isinstance(node, ast.Attribute) and ast.unparse(node.value) in time_names and node.attr == "time":
                hit = node                    # called, or handed on as a clock (a default argument, a callback)
            if hit is not None:
                expr = ast.unparse(hit)
                if (rel.as_posix(), expr) not in ALLOWED:
                    found.append((rel.as_posix(), hit.lineno, expr))
    return sorted(set(found))


def test_no_production_code_reads_the_wall_clock_but_the_clock_module():
    assert wall_clock_reads(ROOT) == []


def test_the_scan_finds_each_way_of_reading_the_time(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(
        "import time\nimport datetime as dt\nfrom datetime import datetime as D, timezone\nfrom time import gmtime\n"
        "a = D.now(timezone.utc)\nb = dt.datetime.utcnow()\nc = dt.date.today()\nd = time.time()\n"
        "def f(clock=time.time): pass\ne = time.strftime('%Y')\ng = gmtime()\n"
        "ok = time.monotonic() + time.perf_counter()\nh = time.strftime('%Y', time.gmtime(0))\n", encoding="utf-8")
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "fake.py").write_text("import time\nt = time.time()\n", encoding="utf-8")
    lines = [line for _, line, _ in wall_clock_reads(tmp_path)]
    assert lines == [5, 6, 7, 8, 9, 10, 11]


def test_as_clock_takes_a_clock_a_callable_or_nothing():
    manual = ManualClock("2026-11-28T09:00:00Z")
    assert as_clock(manual) is manual
    assert as_clock(None) is SYSTEM
    moment = parse_iso("2030-01-01T00:00:00Z")
    wrapped = as_clock(lambda: moment)
    assert wrapped.now() == moment and callable(wrapped.sleep)


def test_the_store_stamps_runs_and_the_classifiers_state_changes_on_its_clock(tmp_path):
    from crawler.items import Listing
    from store.db import open_db
    from store.listings import Store

    clock = ManualClock("2031-05-05T05:05:05Z")
    store = Store(open_db(tmp_path / "sweep.db"), clock)
    run_id = store.start_run(["marketplace"])
    item = Listing(id="marketplace:1", platform="marketplace", platform_id="1", kind="ecommerce",
                   url="http://marketplace.example/item/1", title="八口猫池", description="QQ 123450001",
                   crawled_at="2031-05-05T05:00:00+00:00", content_hash="h1")
    item.classification = {"label": "modem_pool", "score": 0.9, "flagged": True, "model_version": "test"}
    store.write_batch([item], run_id)
    clock.advance(minutes=10)
    store.finish_run(run_id, "ok", {})
    db = store.db
    assert db.execute("SELECT started_at, finished_at FROM crawl_runs").fetchone() == (
        "2031-05-05T05:05:05+00:00", "2031-05-05T05:15:05+00:00")
    assert db.execute("SELECT at, action FROM audit_log").fetchall() == [("2031-05-05T05:05:05+00:00",
                                                                         "state:new->flagged")]
    assert db.execute("SELECT state_changed_at FROM listings").fetchone()[0] == "2031-05-05T05:05:05+00:00"


def _near(stamp: str, moment: datetime, slack: float = 120) -> bool:
    return timedelta(0) <= parse_iso(stamp) - moment < timedelta(seconds=slack)


def test_report_with_now_stamps_that_time_in_the_audit_log(tmp_path, fresh_sandbox, catalogue):
    from cli.main import cli

    path = seed_db(tmp_path / "sweep.db", fresh_sandbox.urls, harmful_rows(catalogue, "marketplace", 1, 2))
    before = sqlite3.connect(path).execute("SELECT max(id) FROM audit_log").fetchone()[0]
    config = tmp_path / "sweep.toml"
    config.write_text('[reports]\ncapture_evidence = false\nrequire_evidence = false\n')
    moment = parse_iso("2030-01-01T09:00:00Z")
    out = CliRunner().invoke(cli, ["report", "--db", str(path), "--config", str(config),
                                   "--now", "2030-01-01T09:00:00Z", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.splitlines()[0])["sent"] == 2
    con = sqlite3.connect(path)
    written = con.execute("SELECT at, action FROM audit_log WHERE id > ?", [before]).fetchall()
    assert [a for _, a in written].count("state:confirmed->reported") == 2
    assert all(_near(at, moment) for at, _ in written), written
    stamps = con.execute("SELECT l.reported_at, l.state_changed_at, r.created_at, r.sent_at FROM listings l "
                         "JOIN report_listings rl ON rl.listing_id = l.id "
                         "JOIN reports r ON r.id = rl.report_id").fetchall()
    assert stamps and all(_near(s, moment) for row in stamps for s in row), stamps


def test_a_refused_cycle_with_now_records_its_run_at_that_time(tmp_path):
    from cli.main import cli
    from ops.lock import DatabaseLock

    db = tmp_path / "sweep.db"
    moment = parse_iso("2030-06-01T12:00:00Z")
    with DatabaseLock(db, purpose="a long cycle", clock=OffsetClock(moment)) as lock:
        holder = sqlite3.connect(db).execute("SELECT acquired_at FROM locks").fetchone()[0]
        assert _near(holder, moment) and lock.held                         # the lock's own stamps follow the clock
        result = CliRunner().invoke(cli, ["schedule", "--once", "--db", str(db), "--now", "2030-06-01T12:00:00Z"])
    assert result.exit_code == 75, result.output
    started, finished, stats = sqlite3.connect(db).execute(
        "SELECT started_at, finished_at, stats FROM crawl_runs").fetchone()
    assert _near(started, moment) and _near(finished, moment), (started, finished)
    assert _near(json.loads(stats)["cycle"]["started"], moment)


def test_offset_clock_runs_at_real_speed_from_now():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = OffsetClock(start)
    assert timedelta(0) <= clock.now() - start < timedelta(seconds=5)


def test_a_crawl_under_now_stamps_its_listings_on_that_clock(tmp_path, sandbox, small_profiles, model_path):
    # The crawl runs in Scrapy, whose settings carry numbers: the clock crosses as an offset.
    from tests.helpers import sweep

    db = tmp_path / "sweep.db"
    moment = parse_iso("2031-02-03T04:05:06Z")
    sweep("crawl", "--db", str(db), "--profiles", str(small_profiles),
          "--base-url", f"appstore={sandbox.urls['appstore']}")
    sweep("run", "--db", str(db), "--profiles", str(small_profiles), "--now", "2031-02-03T04:05:06Z",
          "--base-url", f"appstore={sandbox.urls['appstore']}", check=False)
    rows = sqlite3.connect(db).execute("SELECT first_seen, last_seen FROM listings").fetchall()
    assert rows
    # Seen first by the plain crawl (real time), last by the cycle under --now: both clocks reached the rows.
    assert all(not _near(first, moment) and _near(last, moment) for first, last in rows), rows[:3]
    runs = sqlite3.connect(db).execute("SELECT started_at FROM crawl_runs ORDER BY id").fetchall()
    assert not _near(runs[0][0], moment) and _near(runs[-1][0], moment)
