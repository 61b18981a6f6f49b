"""The `sweep` command line: the group, the errors it reports, and the core commands.

Every command module defines plain click commands; this module adds them to the group (imports
point down: command modules never import this one). Every command's help carries an Example
(tests/test_docs.py checks it), and docs/cli.md is generated from the help (`python -m cli.reference`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from common.errors import SweepError
from cli import audit, check, classify, crawl as distributed, endpoints, ops, review, share, takedown
from cli.options import crawl_options, db_option, existing_db_option


def run_crawl(db_path, platforms, profiles_dir, base_urls, keywords=None, verbose=False, resume=False):
    from ops.cycle import run_cycle

    return run_cycle(db_path, list(platforms), profiles_dir, base_urls, keywords=keywords,
                     log_level="INFO" if verbose else "WARNING", resume=resume,
                     progress=sys.stderr.isatty())      # cron and pipes get no progress


class SweepGroup(click.Group):
    """The one place a SweepError becomes one line on stderr (``Error: …``) and its exit code;
    any other exception is a bug and keeps its traceback."""

    def invoke(self, ctx):
        from common.optional import message

        try:
            return super().invoke(ctx)
        except SweepError as exc:
            error = click.ClickException(exc.message)
            error.exit_code = exc.exit_code
            raise error from None
        except ModuleNotFoundError as exc:      # an optional extra that is not installed: say which
            hint = message(exc.name, f"sweep {ctx.invoked_subcommand or ''}".strip())
            if hint is None:
                raise
            raise click.ClickException(hint) from None


@click.group(cls=SweepGroup)
@click.version_option(package_name="sweep")
def cli():
    """Sweep finds listings that sell harassment tools (呼死你, 改号, 短信轰炸, 猫池, 语音网关),
    classifies them, and helps trust-and-safety teams take them down.

    Example:

        sweep demo
    """


@click.command()
@click.option("--port-base", default=8701, show_default=True, help="First of five ports (0: free ports).")
@click.option("--seed", default=2018, show_default=True, help="Picks the catalogue.")
@click.option("--rate-limit", default=1000.0, show_default=True, help="Requests/s per platform before 429 (0: off).")
@click.option("--takedown-delay", default=5.0, show_default=True, help="Seconds from a report to removal.")
@click.option("--faults", is_flag=True, help="Also serve the /faults/... pages (bad encodings, huge, stalled...).")
def sandbox(port_base, seed, rate_limit, takedown_delay, faults):
    """Serve the bundled marketplace, app store, forum, code host and channel site on 127.0.0.1 until interrupted.

    Example:

        sweep sandbox --port-base 8701 --seed 2018
    """
    from sandbox.server import main

    click.echo("sandbox: marketplace, appstore, forum, codehost, social on 127.0.0.1 (Ctrl-C to stop)", err=True)
    main(["--port-base", str(port_base), "--seed", str(seed), "--rate-limit", str(rate_limit),
          "--takedown-delay", str(takedown_delay), *(["--faults"] if faults else [])])


@click.command()
@crawl_options
def crawl(db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume):
    """Crawl platforms into the database: fetch, classify and store every listing, then print the
    run's counts. Only the crawl: evidence, reports and rechecks are `sweep run` (one whole
    cycle) or their own commands.

    A crawl stopped at any point (Ctrl-C, SIGKILL, a full disk) continues where it stopped when
    rerun with --resume; every listing is still stored exactly once.

    Example:

        sweep crawl --platform marketplace --base-url marketplace=http://127.0.0.1:8701
    """
    result = run_crawl(db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume)
    click.echo(f"run {result.run_id}: {result.outcome}; {result.total} listings seen")
    if result.failures:
        raise SweepError("; ".join(result.failures))


@click.command()
@existing_db_option
def stats(db_path):
    """Listings and flags by platform and label.

    Example:

        sweep stats --db sweep.db
    """
    from cli.summary import print_stats

    print_stats(db_path)


@click.command()
@click.argument("text")
@existing_db_option
@click.option("--limit", default=50, show_default=True, help="At most this many results (0: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search(text, db_path, limit, as_json):
    """Find stored listings containing TEXT (works for Chinese, e.g. 猫池, 呼死你).

    Example:

        sweep search 猫池 --db sweep.db
    """
    from store.db import open_db
    from store.listings import Store
    from cli.summary import print_search

    print_search(Store(open_db(db_path)).search(text, limit or None), as_json)


@click.command()
@db_option
@click.option("--seed", default=2018, show_default=True, help="Sandbox catalogue seed.")
@click.option("--review-port", default=8800, show_default=True, help="Port of the review UI served at the end.")
@click.option("--no-serve", is_flag=True, help="Do not serve the review UI at the end.")
@click.option("--evidence", "evidence_count", default=12, show_default=True,
              help="Capture evidence (screenshot + WACZ) for this many of the highest-scoring flagged listings.")
def demo(db_path, seed, review_port, no_serve, evidence_count):
    """Start the sandbox in the background, crawl it (as `sweep crawl`), print the summary,
    capture evidence for the top flagged listings, then serve the review UI with a demo reviewer
    account (printed once) until Ctrl-C.

    Evidence for every flagged listing takes Chromium a few minutes, so the demo captures the
    first --evidence of them; `sweep evidence` (or a `sweep schedule` cycle) captures the rest.

    Example:

        sweep demo --db sweep.db
    """
    from sandbox.catalogue import Catalogue
    from sandbox.process import SandboxProcess

    from common.optional import require

    require("aiohttp", "sweep demo")       # the sandbox runs in a child process: check here, say it once

    from cli.summary import print_queue_quality, print_summary, queue_quality

    from cli.review import DEMO_USER, demo_account, serve

    click.echo("starting the sandbox platforms on 127.0.0.1 ...", err=True)
    try:     # the ports the bundled profiles name, so links in the database stay valid after the demo
        sb = SandboxProcess(seed=seed, port_base=8701).start()
    except RuntimeError:
        click.echo("  ports 8701-8705 are busy; using free ports", err=True)
        sb = SandboxProcess(seed=seed).start()
    try:
        for name, url in sb.urls.items():
            click.echo(f"  {name:<12} {url}", err=True)
        click.echo(f"  {'endpoints':<12} {sb.endpoint_host}  (stands in for sites bombers abuse; Sweep never calls it)",
                   err=True)
        result = run_crawl(db_path, [], None, sb.urls)
        print_summary(db_path, result)
        print_queue_quality(queue_quality(db_path, Catalogue(seed).ground_truth()))
        click.echo(f"\ndatabase: {Path(db_path).resolve()}  (try: sweep search 猫池 --db {db_path})")
        if result.failures:
            raise SweepError("; ".join(result.failures))
        if evidence_count > 0:
            from takedown.evidence import capture_listings

            click.echo(f"capturing evidence for the {evidence_count} highest-scoring flagged listings "
                       f"(Chromium) ...", err=True)
            captured = capture_listings(db_path, limit=evidence_count)
            click.echo(f"evidence: {len(captured.captured)} listings captured ({len(captured.errors)} failed); "
                       f"`sweep evidence --db {db_path}` captures the rest")
        click.echo(endpoint_line(db_path, sb.endpoint_hits()))
        password = demo_account(db_path)
        click.echo(f"\nreview UI: http://127.0.0.1:{review_port}/  user: {DEMO_USER}  password: {password}")
        if not no_serve:   # the sandbox keeps serving too, so "open the live page" works while reviewing
            click.echo("serving the review UI and the sandbox until Ctrl-C", err=True)
            serve(db_path, "127.0.0.1", review_port)
    finally:
        sb.stop()


def endpoint_line(db_path: str, hits: dict) -> str:
    """用不了 in the demo: the abused endpoints the crawl's bomber repositories cite, and proof that
    Sweep sent none of them a request (the sandbox's endpoint host counts every hit)."""
    from takedown.endpoints.store import collect_into

    found = collect_into(db_path)
    return (f"abused endpoints: {found['endpoints']} in {found['domains']} owning domain(s), cited by "
            f"{found['listings']} bomber repositories (`sweep endpoints --db {db_path} --notify` tells their "
            f"owners); requests Sweep sent to them: {len(hits.get('hits', []))}")


for _command in (sandbox, crawl, stats, search, demo, *classify.COMMANDS, *distributed.COMMANDS, *ops.COMMANDS,
                 *takedown.COMMANDS, *review.COMMANDS, *check.COMMANDS, *share.COMMANDS, *audit.COMMANDS,
                 *endpoints.COMMANDS):
    cli.add_command(_command)


def main():  # pragma: no cover
    cli(prog_name="sweep")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
