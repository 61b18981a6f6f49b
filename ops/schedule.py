"""Cycles on a timetable: crawl → classify → evidence → file confirmed reports → recheck.

``sweep schedule`` reads cron expressions (``[schedule] cycles`` in sweep.toml, or ``--cron``),
sleeps until the next one is due and runs a cycle — each in a fresh child process
(``sweep schedule --once``), since a Twisted reactor cannot be started twice in one process and a
crashed or leaking cycle must not take the scheduler with it. Fire times missed while a cycle ran
are not made up: the next cycle is the next fire time after the last one finished.

One cycle (:func:`run_scheduled_cycle`, also what cron and systemd timers run via
``sweep schedule --once``):

1. takes the ``cycle`` lock in the database (ops/lock.py) — refused (exit 75) while another
   cycle holds it, taken over when its holder was killed or went quiet;
2. crawls and classifies every enabled platform (ops/cycle.py), monitors included;
3. runs the takedown steps of ops/steps.py — evidence, reports, endpoints (collect abused
   endpoints from code-host listings), notify (their owners), recheck — each
   ``(db_path, config, clock)``; a failing step is recorded and the others still run, and every
   step is skipped if the lock was taken over meanwhile (reports are never filed by two cycles at once);
4. records everything in the run's ``crawl_runs`` row (``stats.cycle``), refusals included.

Time comes from ``clock`` (common/clock.py: ``now()`` and ``sleep()``; a plain callable returning
an aware datetime is accepted too). The child process of a scheduled cycle gets the scheduler's
time (``--now``) and runs on from it, so with a ManualClock a test runs two scheduled cycles
hours apart in seconds.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from common.clock import SYSTEM, as_clock
from common.config import Config, ConfigError, load_config
from ops.cycle import run_cycle
from ops.lock import DatabaseLock, Holder, LockHeld
from ops.steps import STEPS

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75          # `sweep schedule --once` when another cycle holds the lock


# -- the timetable -------------------------------------------------------------------------------
@dataclass
class Timetable:
    expressions: list[str]
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @classmethod
    def from_config(cls, config: Config, extra: list[str] | tuple = ()) -> Timetable:
        section = config.section("schedule")
        expressions = list(extra) or list(section.get("cycles", []))
        if not expressions:
            raise ConfigError("no cycles to schedule: add [schedule] cycles = [\"0 */6 * * *\"] to sweep.toml "
                              "or pass --cron")
        for expr in expressions:
            if not isinstance(expr, str) or not croniter.is_valid(expr):
                raise ConfigError(f"[schedule] cycles: {expr!r} is not a cron expression "
                                  f"(minute hour day-of-month month day-of-week)")
        try:
            tz = ZoneInfo(section.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"[schedule] timezone: unknown time zone {section.get('timezone')!r}") from None
        return cls(expressions, tz)

    def next_after(self, moment: datetime) -> tuple[datetime, str]:
        """The first fire time strictly after ``moment`` (UTC), and the expression it comes from."""
        local = moment.astimezone(self.tz)
        due = [(croniter(expr, local).get_next(datetime), expr) for expr in self.expressions]
        when, expr = min(due, key=lambda d: d[0])
        return when.astimezone(UTC), expr


# -- one cycle -----------------------------------------------------------------------------------
@dataclass
class CycleReport:
    run_id: int
    outcome: str                       # ok | failed | skipped
    failures: list[str] = field(default_factory=list)
    steps: dict[str, dict] = field(default_factory=dict)
    took_over: Holder | None = None
    refused_by: Holder | None = None


def _brief(value):
    """What a step returned, as numbers only (a step's result never carries text into the database)."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, (int, float, bool))}
    return None


def run_step(name: str, step, db_path: str, config: Config, clock) -> dict:
    try:
        value = step(db_path, config, clock)
    except Exception as exc:     # noqa: BLE001 — one step failing must not stop the others
        logger.exception("cycle step %s failed", name)
        return {"status": "failed", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    return {"status": "ok", "result": _brief(value)}


def _record(db_path: str, run_id: int | None, platforms: list[str], outcome: str, cycle: dict,
            failures: list[str], clock=SYSTEM) -> int:
    """Write the cycle into its crawl_runs row (made here if the crawl never opened one)."""
    from store.db import open_db
    from store.listings import Store
    from store.txn import write_first

    store = Store(open_db(db_path), clock)
    try:
        with write_first(store.db):          # the run's stats are read and rewritten under one write lock
            if run_id is None:
                run_id = store.start_run(platforms)
                stats = {}
            else:
                row = store.db.execute("SELECT stats FROM crawl_runs WHERE id = ?", [run_id]).fetchone()
                stats = json.loads(row[0] or "{}") if row else {}
            stats["cycle"] = cycle
            stats["failures"] = failures
            store.finish_run(run_id, outcome, stats)
    finally:
        store.db.close()
    return run_id


def run_scheduled_cycle(db_path: str, config: Config | None = None, clock=SYSTEM, *, platforms=(),
                        profiles_dir=None, base_urls: dict | None = None, keywords: str | None = None,
                        log_level: str = "WARNING", trigger: str | None = None, progress: bool = False,
                        resume: bool = False, steps=STEPS) -> CycleReport:
    """One whole cycle under the database lock; never raises for a failed step (see the report)."""
    config = config if config is not None else load_config()
    clock = as_clock(clock)
    section = config.section("schedule")
    lock = DatabaseLock(db_path, "cycle", stale_after=float(section.get("stale_after_seconds", 600)),
                        heartbeat=float(section.get("heartbeat_seconds", 30)), clock=clock,
                        purpose=f"sweep cycle ({trigger or 'manual'})")
    cycle = {"started": clock.now().isoformat(timespec="seconds"), "trigger": trigger, "pid": os.getpid()}
    try:
        stale = lock.acquire()
    except LockHeld as held:
        cycle["refused"] = f"another cycle holds the lock: {held.holder.describe()}"
        run_id = _record(db_path, None, list(platforms), "skipped", cycle, [cycle["refused"]], clock)
        return CycleReport(run_id, "skipped", [cycle["refused"]], refused_by=held.holder)
    lock.start_heartbeat()
    try:
        if stale is not None:
            cycle["took_over"] = f"stale lock of {stale.describe()}"
            logger.warning("took over the cycle lock from %s", stale.describe())
        failures: list[str] = []
        done: dict[str, dict] = {}
        run_id = None
        try:
            result = run_cycle(db_path, list(platforms), profiles_dir, base_urls, keywords=keywords,
                               progress=progress, log_level=log_level, config=config, clock=clock,
                               **({"resume": True} if resume else {}))
            run_id, failures = result.run_id, list(result.failures)
            done["crawl"] = {"status": result.outcome, "result": {"listings": result.total}}
        except Exception as exc:     # noqa: BLE001 — rechecks are due whatever happened to the crawl
            logger.exception("cycle crawl failed")
            done["crawl"] = {"status": "failed", "detail": f"{type(exc).__name__}: {exc}"[:500]}
            failures.append(f"crawl: {type(exc).__name__}: {exc}")
        for name, step in steps:
            if lock.lost or not lock.beat():
                done[name] = {"status": "skipped", "detail": "the cycle lock was taken over by another cycle"}
                failures.append(f"{name}: skipped, the cycle lock was taken over")
                continue
            done[name] = run_step(name, step, db_path, config, clock)
            if done[name]["status"] == "failed":
                failures.append(f"{name}: {done[name]['detail']}")
        cycle["steps"] = done
        cycle["finished"] = clock.now().isoformat(timespec="seconds")
        outcome = "failed" if failures else "ok"
        run_id = _record(db_path, run_id, list(platforms), outcome, cycle, failures, clock)
        return CycleReport(run_id, outcome, failures, done, took_over=stale)
    finally:
        lock.release()


# -- the scheduler -------------------------------------------------------------------------------
class Scheduler:
    """Wait for each fire time of ``timetable`` and call ``run_once(fire_time, expression)``.

    Waits go through ``clock.sleep`` (a ManualClock jumps ahead), in steps of at most
    ``max_sleep`` seconds so a suspended machine or a changed clock is noticed.
    """

    def __init__(self, timetable: Timetable, run_once, clock=SYSTEM, log=logger.info, max_sleep: float = 60.0):
        self.timetable = timetable
        self.run_once = run_once
        self.clock = as_clock(clock)
        self.log = log
        self.max_sleep = max_sleep

    def wait_until(self, moment: datetime) -> None:
        while (remaining := (moment - self.clock.now()).total_seconds()) > 0:
            self.clock.sleep(min(remaining, self.max_sleep))

    def run(self, max_cycles: int = 0) -> list:
        """Run cycles until ``max_cycles`` have run (0: forever); returns what each run_once returned."""
        results = []
        while not max_cycles or len(results) < max_cycles:
            due, expr = self.timetable.next_after(self.clock.now())
            self.log(f"next cycle at {due.isoformat(timespec='seconds')} ({expr})")
            self.wait_until(due)
            results.append(self.run_once(due, expr))
        return results


def cycle_command(at: datetime, trigger: str, db_path: str, config_path: str | None, platforms=(),
                  profiles_dir=None, base_urls: dict | None = None, keywords: str | None = None,
                  verbose: bool = False, resume: bool = False) -> list[str]:
    """The `sweep schedule --once` command line a scheduled cycle runs as."""
    cmd = [sys.executable, "-m", "cli", "schedule", "--once", "--now", at.isoformat(),
           "--trigger", trigger, "--db", str(db_path)]
    if config_path:
        cmd += ["--config", str(config_path)]
    for name in platforms:
        cmd += ["--platform", name]
    if profiles_dir:
        cmd += ["--profiles", str(profiles_dir)]
    for name, url in (base_urls or {}).items():
        cmd += ["--base-url", f"{name}={url}"]
    if keywords:
        cmd += ["--keywords", keywords]
    if verbose:
        cmd.append("--verbose")
    if resume:
        cmd.append("--resume")
    return cmd


def run_child(cmd: list[str], grace: float = 120.0) -> int:
    """Run one cycle process; on interrupt, ask it to stop (SIGINT: Scrapy shuts down cleanly), then kill."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except BaseException:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
