"""The `sweep` command line. Every command's help carries an Example (a test checks it)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from store.db import DEFAULT_DB, DatabaseUnusable

db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
                         help="SQLite database file.")



def _must_exist(ctx, param, value):
    if value != ":memory:" and not Path(value).exists():     # opening it would create an empty one and say "0"
        raise click.ClickException(f"no database at {value}: check --db (sweep crawl, run, demo or ingest create one)")
    return value


# For commands that only read: a mistyped --db is refused rather than created empty.
existing_db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True,
                                  type=click.Path(dir_okay=False), callback=_must_exist,
                                  help="SQLite database file (must exist).")


def _parse_base_urls(values) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{value!r}: expected NAME=URL, e.g. marketplace=http://127.0.0.1:8701")
        out[name] = url
    return out


class SweepGroup(click.Group):
    """Renders, for every command, a database that cannot be used as one line (store/db.py says why)."""

    def invoke(self, ctx):
        from common.optional import MissingExtra, message

        try:
            return super().invoke(ctx)
        except DatabaseUnusable as exc:
            raise click.ClickException(str(exc)) from None
        except MissingExtra as exc:
            raise click.ClickException(str(exc)) from None
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


@cli.command()
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


def _crawl_options(fn):
    fn = click.option("--platform", "platforms", multiple=True, help="Profile name (repeatable; default: all enabled).")(fn)
    fn = click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, exists=True),
                      help="Directory of site profiles (default: crawler/profiles).")(fn)
    fn = click.option("--base-url", "base_urls", multiple=True, metavar="NAME=URL",
                      help="Point a profile at another address (repeatable).")(fn)
    fn = click.option("--keywords", help="Comma-separated search keywords replacing the keyword list.")(fn)
    fn = click.option("-v", "--verbose", is_flag=True, help="Scrapy's INFO log and tracebacks (default: one line per problem).")(fn)
    fn = click.option("--resume", is_flag=True,
                      help="Continue an interrupted crawl (killed, stopped, disk full) from its frontier.")(fn)
    return db_option(fn)


def _run_cycle(db_path, platforms, profiles_dir, base_urls, keywords=None, verbose=False, resume=False):
    from ops.cycle import run_cycle

    try:
        return run_cycle(db_path, list(platforms), profiles_dir, base_urls, keywords=keywords,
                         log_level="INFO" if verbose else "WARNING", resume=resume,
                         progress=sys.stderr.isatty())      # cron and pipes get no progress
    except Exception as exc:   # profile and model errors carry their own clear messages
        from crawler.profile import ProfileError
        from classifier.artifact import ArtifactError

        from common.config import ConfigError

        if isinstance(exc, (ProfileError, ArtifactError, ConfigError)):
            raise click.ClickException(str(exc)) from None
        raise


@cli.command()
@_crawl_options
def crawl(db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume):
    """Crawl platforms into the database (listings are classified as they arrive).

    A crawl stopped at any point (Ctrl-C, SIGKILL, a full disk) continues where it stopped when
    rerun with --resume; every listing is still stored exactly once.

    Example:

        sweep crawl --platform marketplace --base-url marketplace=http://127.0.0.1:8701
    """
    result = _run_cycle(db_path, platforms, profiles_dir, _parse_base_urls(base_urls), keywords, verbose, resume)
    click.echo(f"run {result.run_id}: {result.outcome}; {result.total} listings seen")
    if result.failures:
        raise click.ClickException("; ".join(result.failures))


@cli.command()
@_crawl_options
def run(db_path, platforms, profiles_dir, base_urls, keywords, verbose, resume):
    """One scheduled cycle: crawl every enabled platform, classify, store, print a summary.

    Exit status: 0 when every platform was crawled and passed its monitor checks; 1 when a
    platform could not be reached, yielded no listings, ended early or failed a monitor check
    (each named as `<platform>: …`), or the database, config, profiles or model cannot be used;
    2 for a mistyped command line.

    Example:

        sweep run --db sweep.db
    """
    from cli.summary import print_summary

    result = _run_cycle(db_path, platforms, profiles_dir, _parse_base_urls(base_urls), keywords, verbose, resume)
    print_summary(db_path, result)
    if result.failures:
        raise click.ClickException("; ".join(result.failures))


@cli.command()
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSONL with at least title and description per line ('-' for stdin).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSONL output: the input plus label, score, flagged, scores, explanation.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="Model artifact (default: bundled).")
@click.option("--workers", default=None, type=int, help="Processes (default: one per core).")
@click.option("--batch", default=256, show_default=True, help="Listings per batch.")
def classify(in_path, out_path, model_path, workers, batch):
    """Label listings from a JSONL file, streaming (bounded memory for any size).

    A malformed line (not JSON, nested too deeply, NaN/Infinity, not an object, no title or
    description) is reported with its line number on stderr and skipped; invalid UTF-8 is
    replaced with U+FFFD and reported. Exits 0 once every line was read, 1 if the input,
    output or model cannot be used.

    Example:

        sweep classify --in listings.jsonl --out labelled.jsonl
    """
    from classifier.artifact import DEFAULT_MODEL, ArtifactError
    from classifier.stream import classify_stream

    from cli.progress import at_terminal, count_lines, lines_written, watch

    try:
        terminal = at_terminal() and out_path != "-"
        with watch("classifying", lines_written(out_path) if terminal else None,
                   total=count_lines(in_path) if terminal else None):
            counts = classify_stream(in_path, out_path, model_path or str(DEFAULT_MODEL), workers, batch,
                                     warn=lambda msg: click.echo(msg, err=True))
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:          # --in missing or unreadable, --out not writable
        raise click.ClickException(f"{exc.filename or in_path}: {exc.strerror or exc}") from None
    click.echo(f"classified {counts['classified']} listings ({counts['flagged']} flagged); "
               f"{counts['malformed']} malformed lines skipped; {counts['repaired']} lines with invalid "
               f"Unicode repaired", err=True)


@cli.command()
@existing_db_option
def stats(db_path):
    """Listings and flags by platform and label.

    Example:

        sweep stats --db sweep.db
    """
    from cli.summary import print_stats

    print_stats(db_path)


@cli.command()
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


@cli.command()
@db_option
@click.option("--seed", default=2018, show_default=True, help="Sandbox catalogue seed.")
@click.option("--review-port", default=8800, show_default=True, help="Port of the review UI served at the end.")
@click.option("--no-serve", is_flag=True, help="Do not serve the review UI at the end.")
@click.option("--evidence", "evidence_count", default=12, show_default=True,
              help="Capture evidence (screenshot + WACZ) for this many of the highest-scoring flagged listings.")
def demo(db_path, seed, review_port, no_serve, evidence_count):
    """Start the sandbox in the background, run one cycle against it, print the summary,
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
        result = _run_cycle(db_path, [], None, sb.urls)
        print_summary(db_path, result)
        print_queue_quality(queue_quality(db_path, Catalogue(seed).ground_truth()))
        click.echo(f"\ndatabase: {Path(db_path).resolve()}  (try: sweep search 猫池 --db {db_path})")
        if result.failures:
            raise click.ClickException("; ".join(result.failures))
        if evidence_count > 0:
            from takedown.evidence import capture_listings

            click.echo(f"capturing evidence for the {evidence_count} highest-scoring flagged listings "
                       f"(Chromium) ...", err=True)
            captured = capture_listings(db_path, limit=evidence_count)
            click.echo(f"evidence: {len(captured.captured)} listings captured ({len(captured.errors)} failed); "
                       f"`sweep evidence --db {db_path}` captures the rest")
        password = demo_account(db_path)
        click.echo(f"\nreview UI: http://127.0.0.1:{review_port}/  user: {DEMO_USER}  password: {password}")
        if not no_serve:   # the sandbox keeps serving too, so "open the live page" works while reviewing
            click.echo("serving the review UI and the sandbox until Ctrl-C", err=True)
            serve(db_path, "127.0.0.1", review_port)
    finally:
        sb.stop()


@cli.command()
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, exists=True),
              help="Directory of labelled JSONL (default: classifier/corpus).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Artifact path (default: bundled).")
@click.option("--with-reviews", is_flag=True, help="Also learn from reviewers' decisions in --db.")
@click.option("--prevalence", default=0.01, show_default=True, type=click.FloatRange(0, 1, min_open=True),
              help="Share of harmful listings the crawl is expected to see; the threshold is chosen for it.")
@click.option("--target-precision", default=0.9, show_default=True, type=click.FloatRange(0, 1),
              help="Precision the flags must keep at --prevalence (from out-of-fold TPR and ordinary FPR).")
@db_option
def train(corpus_dir, out_path, with_reviews, prevalence, target_precision, db_path):
    """Train the classifier from the labelled corpus (and reviewer decisions) and write the artifact.

    Cross-validates on the training split (by listing) to choose the operating threshold for
    --target-precision at --prevalence, then scores the frozen test split (never tuned on).
    Reviewer decisions only ever join the training split.

    Example:

        sweep train --corpus classifier/corpus --with-reviews --db sweep.db --prevalence 0.01
    """
    from classifier.artifact import DEFAULT_MODEL
    from classifier.corpus import CORPUS_DIR
    from classifier.reviews import review_rows
    from classifier.train import train as do_train

    extra = []
    if with_reviews:
        from store.db import open_db

        if not Path(db_path).exists():
            raise click.ClickException(f"--with-reviews: no database at {db_path}")
        extra = review_rows(open_db(db_path))
        click.echo(f"{len(extra)} reviewer decisions added to the training split", err=True)
    from cli.progress import watch

    with watch("training") as say:      # at a terminal: a spinner naming the current step
        card = do_train(corpus_dir or CORPUS_DIR, out_path or DEFAULT_MODEL, extra_rows=extra, prevalence=prevalence,
                        prevalence_precision=target_precision,
                        log=lambda m: (say(f"training: {m}"), click.echo(m, err=True)))
    test = card["metrics"].get("frozen_test", {})
    click.echo(f"model {card['model_version']} written to {out_path or DEFAULT_MODEL}; flag threshold "
               f"{card['thresholds']['flag']}")
    if test:
        click.echo(f"frozen test: binary F1 {test['binary']['f1']}, category accuracy "
                   f"{test['category_accuracy_on_harmful']}, hard-negative FP rate {test['hard_negative_fp_rate']}")


# Each area adds its commands from its own module.
from cli import audit as cli_audit, check as cli_check, classify as cli_classifier, crawl as cli_crawl, ops as cli_ops, review as cli_review, share as cli_share, takedown as cli_takedown  # noqa: E402
from cli import endpoints as cli_endpoints  # noqa: E402

for _area in (cli_classifier, cli_review, cli_takedown, cli_ops, cli_crawl, cli_check, cli_share, cli_audit,
              cli_endpoints):
    _area.register(cli)


def main():  # pragma: no cover
    cli(prog_name="sweep")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
