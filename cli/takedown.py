"""`sweep evidence`, `sweep report` and `sweep recheck`: the takedown lifecycle (takedown/).

Each takes ``--now`` (ISO 8601) so a test or a replay can run the lifecycle at any moment:
business time (deadlines, schedules, timestamps) moves, the network does not.
"""
from __future__ import annotations

import json

import click

from common.errors import SweepError
from cli.options import config_option, existing_db_option, json_option, now_option
from cli.progress import at_terminal, rows_added, watch


def lifecycle_options(fn):
    for decorator in (json_option, now_option, config_option, existing_db_option):
        fn = decorator(fn)
    return fn


def _emit(summary: dict, as_json: bool, line: str) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    else:
        click.echo(line)


@click.command()
@lifecycle_options
@click.option("--listing", "listing_ids", multiple=True, metavar="ID",
              help="Capture these listings (repeatable; default: flagged, relisted and confirmed ones "
                   "lacking evidence).")
@click.option("--verify", is_flag=True, help="Re-hash every stored evidence file against its recorded digest.")
def evidence(db_path, config_path, clock, as_json, listing_ids, verify):
    """Capture evidence (raw HTTP + full-page screenshot, as WACZ) once per flagged listing version.

    Files go to an `evidence/` directory beside the database, read-only, with SHA-256
    digests in the `evidence` table. `--verify` checks them all instead.

    Example:

        sweep evidence --db sweep.db
    """
    from common.config import load_config
    from store.db import open_db
    from takedown.evidence import capture_listings, missing, verify_all

    config = load_config(config_path)
    if verify:
        problems = verify_all(db_path)
        bad = {k: v for k, v in problems.items() if v}
        _emit({"checked": len(problems), "bad": bad}, as_json,
              f"{len(problems)} evidence packages checked, {len(bad)} with problems")
        for eid, issues in bad.items():
            click.echo(f"  evidence {eid}: {'; '.join(issues)}", err=True)
        if bad:
            raise SweepError("evidence does not match its recorded digests")
        return
    total = None
    if at_terminal():
        db = open_db(db_path)
        total = len(missing(db, list(listing_ids) or None))
        db.close()
    with watch("capturing evidence (Chromium)", rows_added(db_path, "evidence") if total else None, total=total):
        result = capture_listings(db_path, config, clock, listing_ids=list(listing_ids) or None)
    _emit({"captured": len(result.captured), "errors": result.errors, "refused": result.refused,
           "browser_sandboxed": result.sandboxed}, as_json,
          f"captured evidence for {len(result.captured)} listing(s); {len(result.errors)} failed"
          + (f" ({result.refused} refused by the outbound policy)" if result.refused else "")
          + (" — Chromium ran WITHOUT its sandbox" if result.sandboxed is False else ""))
    for lid, why in result.errors.items():
        click.echo(f"  {lid}: {why}", err=True)


@click.command()
@lifecycle_options
@click.option("--retry-failed", is_flag=True, help="Put failed reports back in the outbox first.")
@click.option("--list", "list_only", is_flag=True, help="List reports instead of filing.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=0),
              help="With --list: the newest this many reports (0: all).")
def report(db_path, config_path, clock, as_json, retry_failed, list_only, limit):
    """File reports for reviewer-confirmed (and escalated) listings, once per report.

    Bundles each seller's listings per channel (platform intake, e-mail to the abuse
    address, XARF and 12321 exports), cites the law, retries with backoff and respects
    per-platform rate limits. Safe to rerun after a crash: nothing is lost; intake and
    exports are never filed twice, and an e-mail resent after a crash carries the same
    Message-ID (X-Sweep-Attempt counts the attempts).

    Example:

        sweep report --db sweep.db --config sweep.toml

        sweep report --db sweep.db --list --limit 20
    """
    from common.config import load_config
    from store.db import open_db
    from takedown.outbox import report_count, report_rows
    from takedown.outbox import retry_failed as do_retry
    from takedown.reports import file_confirmed

    config = load_config(config_path)
    if list_only:
        db = open_db(db_path)
        rows = report_rows(db, limit=limit or None)
        for r in rows:
            if as_json:
                click.echo(json.dumps(r, ensure_ascii=False))
            else:
                click.echo(f"{r['id']:>5} {r['state']:<8} {r['channel']:<15} {r['platform']:<12} "
                           f"L{r['escalation_level']} {r['listings']:>3} listing(s) {r['receipt'] or r['error'] or ''}")
        if limit and len(rows) == limit and (total := report_count(db)) > limit:
            click.echo(f"the newest {limit} of {total} reports; --limit 0 lists all", err=True)
        return
    if retry_failed:
        click.echo(f"{do_retry(open_db(db_path), clock)} failed report(s) back in the outbox", err=True)
    with watch("filing reports", rows_added(db_path, "reports_handled") if at_terminal() else None):
        summary = file_confirmed(db_path, config, clock)
    if summary.get("busy"):
        raise SweepError("another `sweep report` is filing from this database; try again later")
    waiting = len(summary.get("waiting_for_evidence", []))
    _emit(summary, as_json,
          f"planned {summary['planned']}, sent {summary['sent']}, recovered {summary['recovered']}, "
          f"retrying {summary['retrying']}, failed {summary['failed']} report(s); "
          f"evidence captured {summary['captured']}" + (f"; {waiting} listing(s) wait for evidence" if waiting else ""))
    if not as_json:
        for channel, why in summary.get("not_configured", {}).items():
            click.echo(f"  skipped {channel}: {why}", err=True)
        if summary.get("needs_person"):
            click.echo(f"{summary['needs_person']} listing(s) need a person: still live after every escalation "
                       "step (see the review queue)")
        if summary.get("unsupported"):
            click.echo(f"{summary['unsupported']} withdrawal(s) not supported by their channel: contact the "
                       "platform (see the audit log)")


@click.command()
@lifecycle_options
@click.option("--all", "force", is_flag=True, help="Check every reported listing now, whatever the schedule.")
def recheck(db_path, config_path, clock, as_json, force):
    """Re-fetch reported listings that are due; confirm removals, escalate, link relists.

    Example:

        sweep recheck --db sweep.db --now 2026-11-29T09:00:00+00:00
    """
    from common.config import load_config
    from takedown.recheck import recheck_due

    config = load_config(config_path)
    with watch("rechecking reported listings", rows_added(db_path, "rechecks") if at_terminal() else None):
        summary = recheck_due(db_path, config, clock, force=force)
    _emit(summary, as_json,
          f"checked {summary['checked']} ({summary['live']} live, {summary['gone']} gone, {summary['error']} errors); "
          f"removed {summary['removed']}, escalated {summary['escalated']}, still live {summary['still_live']}, "
          f"came back {summary['came_back']}, relists linked {summary['relisted']}")


COMMANDS = (evidence, report, recheck)
