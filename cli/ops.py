"""`sweep run`, `sweep schedule` and `sweep runs`: whole cycles, now or on a timetable, and their record (ops/)."""
from __future__ import annotations

import json
import signal
import sys
from datetime import datetime

import click

from common.errors import SweepError
from cli.options import config_option, crawl_options, existing_db_option, now_option


def _echo(message: str) -> None:
    click.echo(f"sweep schedule: {message}", err=True)


# -- `sweep runs` ---------------------------------------------------------------------------------
def load_runs(db_path: str, limit: int | None = None, run_id: int | None = None) -> list[dict]:
    """Runs, newest first, each with its stats, monitor checks and a `status` that notices dead runs."""
    from store.db import open_db
    from store.listings import run_rows
    from ops.lock import process_alive

    db = open_db(db_path)
    try:
        rows = run_rows(db, limit, run_id)
    finally:
        db.close()
    out = []
    for row in rows:
        stats = row["stats"]
        status = row["outcome"]
        if status == "running" and row["pid"] and not process_alive(row["pid"]):
            status = "interrupted"           # its process is gone without finishing the run
        out.append({"id": row["id"], "started_at": row["started_at"], "finished_at": row["finished_at"],
                    "outcome": row["outcome"], "status": status, "platforms": row["platforms"],
                    "listings": sum(p.get("listings", 0) for p in (stats.get("platforms") or {}).values()),
                    "failures": stats.get("failures", []), "cycle": stats.get("cycle"), "monitors": row["monitors"],
                    "platform_stats": stats.get("platforms") or {}})
    return out


def _took(run: dict) -> str:
    try:
        seconds = (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])).seconds
    except (TypeError, ValueError):
        return "-"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _monitor_cell(run: dict) -> str:
    if not run["monitors"]:
        return "-"
    failed = [m for m in run["monitors"] if m["status"] in ("FAIL", "ERROR")]
    return f"{len(failed)} failed / {len(run['monitors'])}" if failed else f"{len(run['monitors'])} ok"


def _steps_cell(run: dict) -> str:
    cycle = run["cycle"] or {}
    if cycle.get("refused"):
        return "refused: another cycle was running"
    return " · ".join(f"{name} {step['status']}" for name, step in (cycle.get("steps") or {}).items()) or "-"


def print_runs(runs: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.markup import escape

    console = Console(width=max(Console().width, 140))
    table = Table(title="Runs (newest first)")
    for col in ("run", "started (UTC)", "took", "outcome", "platforms", "listings", "monitors", "cycle steps"):
        table.add_column(col, justify="right" if col in ("run", "listings") else "left", no_wrap=col != "cycle steps")
    colour = {"ok": "green", "failed": "red", "skipped": "yellow", "interrupted": "red"}
    for run in runs:
        status = run["status"]
        table.add_row(str(run["id"]), (run["started_at"] or "")[:19].replace("T", " "), _took(run),
                      f"[{colour.get(status, 'white')}]{status}[/]", ",".join(run["platforms"]) or "-",
                      str(run["listings"]), _monitor_cell(run), _steps_cell(run))
    console.print(table)
    for run in runs:
        for m in run["monitors"]:
            if m["status"] in ("FAIL", "ERROR"):
                console.print(f"[red]run {run['id']} {escape(m['platform'])} {m['monitor']}:[/] {escape(m['message'])}")


def print_run(run: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=max(Console().width, 140))
    console.print(f"run {run['id']}: {run['status']}  started {run['started_at']}  finished {run['finished_at'] or '-'}"
                  f"  ({_took(run)})")
    if run["platform_stats"]:
        table = Table(title="Platforms")
        for col in ("platform", "pages", "listings", "new", "changed", "unchanged", "invalid", "finish"):
            table.add_column(col)
        for name, p in run["platform_stats"].items():
            table.add_row(name, *(str(p.get(k, "")) for k in ("pages", "listings", "new", "changed", "unchanged",
                                                               "invalid", "finish_reason")))
        console.print(table)
    if run["monitors"]:
        table = Table(title="Monitor checks")
        for col in ("platform", "check", "status", "detail"):
            table.add_column(col, no_wrap=col != "detail")
        for m in run["monitors"]:
            style = "green" if m["status"] == "OK" else "red" if m["status"] in ("FAIL", "ERROR") else "yellow"
            table.add_row(m["platform"], m["monitor"], f"[{style}]{m['status']}[/]", escape(m["message"] or ""))
        console.print(table)
    cycle = run["cycle"]
    if cycle:
        console.print(f"cycle: trigger {cycle.get('trigger') or 'manual'}, clock {cycle.get('started')} → "
                      f"{cycle.get('finished', '-')}, pid {cycle.get('pid')}")
        for key in ("refused", "took_over"):
            if cycle.get(key):
                console.print(f"  {key.replace('_', ' ')}: {escape(cycle[key])}")
        for name, step in (cycle.get("steps") or {}).items():
            detail = step.get("detail") or (json.dumps(step["result"]) if step.get("result") is not None else "")
            console.print(f"  {name}: {step['status']} {escape(detail)}")
    for failure in run["failures"]:
        console.print(f"[red]failed:[/] {escape(failure)}")


def _cycle_once(ctx, db_path, config, clock, platforms, profiles_dir, base_urls, keywords, verbose, resume,
                trigger=None):
    """One whole cycle under the database lock (ops/schedule.py); a refused one exits 75."""
    from ops.schedule import EX_TEMPFAIL, run_scheduled_cycle

    report = run_scheduled_cycle(db_path, config, clock, platforms=platforms, profiles_dir=profiles_dir,
                                 base_urls=base_urls, keywords=keywords, log_level="INFO" if verbose else "WARNING",
                                 trigger=trigger, progress=sys.stderr.isatty(), resume=resume)
    if report.took_over:
        _echo(f"took over the lock of a stale cycle ({report.took_over.describe()})")
    if report.outcome == "skipped":
        _echo(f"cycle refused (run {report.run_id}): {report.failures[0]}")
        ctx.exit(EX_TEMPFAIL)
    return report


def _steps(report) -> str:
    steps = ", ".join(f"{name} {step['status']}" for name, step in report.steps.items())
    return f"cycle run {report.run_id}: {report.outcome} ({steps})"


@click.command()
@crawl_options
@config_option
@now_option
@click.pass_context
def run(ctx, db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume, config_path, clock):
    """One whole cycle now, at the terminal: crawl every enabled platform (classify, store), capture
    evidence, file confirmed reports and recheck what is due — the cycle `sweep schedule --once`
    runs, under the same lock — then print the crawl's table and each step's outcome.
    `sweep crawl` is the crawl alone.

    Exit status: 0 when every platform was crawled and passed its monitor checks; 1 when a
    platform could not be reached, yielded no listings, ended early or failed a monitor check
    (each named as `<platform>: …`), a cycle step failed, or the database, config, profiles or
    model cannot be used; 75 when another cycle holds the lock; 2 for a mistyped command line.

    Example:

        sweep run --db sweep.db
    """
    from types import SimpleNamespace

    from common.config import load_config
    from cli.summary import print_summary

    config = load_config(config_path)
    report = _cycle_once(ctx, db_path, config, (ctx.obj or {}).get("clock") or clock, platforms, profiles_dir,
                         base_urls, keywords, verbose, resume)
    recorded = load_runs(db_path, run_id=report.run_id)
    platforms_seen = recorded[0]["platform_stats"] if recorded else {}
    print_summary(db_path, SimpleNamespace(run_id=report.run_id, outcome=report.outcome, platforms=platforms_seen,
                                           failures=[]))
    click.echo(_steps(report))
    if report.failures:
        raise SweepError("; ".join(report.failures))


@click.command()
@crawl_options
@config_option
@click.option("--cron", "crons", multiple=True, metavar="EXPR",
              help="Cron expression (repeatable); replaces [schedule] cycles from the config.")
@click.option("--once", is_flag=True, help="Run one cycle now and exit (for cron and systemd timers).")
@click.option("--max-cycles", default=0, show_default=True, help="Stop after this many cycles (0: never).")
@now_option
@click.option("--trigger", hidden=True, help="The cron expression that started this cycle (with --once).")
@click.pass_context
def schedule(ctx, db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume, config_path, crons, once,
             max_cycles, clock, trigger):
    """Run cycles (crawl → classify → evidence → reports → endpoints → recheck) on a timetable.

    The timetable is `[schedule] cycles` in sweep.toml (cron expressions, in `timezone`,
    default UTC) or --cron. Each cycle runs in its own process under a lock in the database:
    a cycle that finds another one running is refused and recorded (`--once` exits 75), a
    lock left by a killed cycle is taken over. Every cycle is a row in `sweep runs`; with
    --now, scheduled cycles run on their due time.

    Example:

        sweep schedule --cron "0 */6 * * *" --db sweep.db

        sweep schedule --once --db sweep.db      # from cron or a systemd timer
    """
    from common.config import load_config
    from ops.schedule import EX_TEMPFAIL, Scheduler, Timetable, cycle_command, run_child

    obj = ctx.obj or {}                      # tests inject {"clock": ManualClock(...), "run_child": ...}
    config = load_config(config_path)
    clock = obj.get("clock") or clock
    if once:
        report = _cycle_once(ctx, db_path, config, clock, platforms, profiles_dir, base_urls, keywords, verbose,
                             resume, trigger)
        if report.failures or verbose or sys.stdout.isatty():   # from cron, a good cycle says nothing
            click.echo(_steps(report))
        if report.failures:
            raise SweepError("; ".join(report.failures))
        return
    timetable = Timetable.from_config(config, crons)
    spawn = obj.get("run_child", run_child)
    config_file = str(config.path.resolve()) if config.path else None

    def run_once(due, expr):
        _echo(f"cycle due at {due.isoformat(timespec='seconds')} ({expr}) starting")
        code = spawn(cycle_command(due, expr, db_path, config_file, platforms, profiles_dir, base_urls, keywords,
                                   verbose, resume))
        _echo({0: "cycle finished", EX_TEMPFAIL: "cycle refused: another cycle is running"}.get(
            code, f"cycle failed (exit {code}); see `sweep runs`"))
        return code

    scheduler = Scheduler(timetable, run_once, clock=clock, log=_echo)
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.run(max_cycles)
    except KeyboardInterrupt:
        _echo("stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@existing_db_option
@click.option("--limit", default=20, show_default=True, help="The most recent N runs (0: all).")
@click.option("--id", "run_id", type=int, help="One run in full: platforms, every monitor check, cycle steps.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def runs(db_path, limit, run_id, as_json):
    """Crawl runs and scheduled cycles: when, outcome, listings, monitor checks and cycle steps.

    Example:

        sweep runs --db sweep.db --limit 10

        sweep runs --db sweep.db --id 12
    """
    rows = load_runs(db_path, limit or None, run_id)
    if run_id is not None and not rows:
        raise SweepError(f"no run {run_id} in {db_path}")
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif run_id is not None:
        print_run(rows[0])
    else:
        print_runs(rows)


COMMANDS = (run, schedule, runs)
