"""`sweep worker` and `sweep ingest`: distributed crawling (crawler/distributed/)."""
from __future__ import annotations

import signal
import sys

import click

from common.errors import SweepError
from cli.options import DEFAULT_REDIS, db_option, model_option, profile_options, redis_options, verbose_option


def redis_url(option: str | None, config_path: str | None) -> str:
    """--redis ($SWEEP_REDIS_URL), else ``[redis] url`` in the config file, else the local default;
    a password the URL lacks comes from ``[redis] password_env`` (and ``username``)."""
    import stat
    from urllib.parse import urlsplit

    from crawler.distributed.connection import with_credentials

    from common.config import load_config

    config = load_config(config_path)
    section = config.section("redis")
    url = option or section.get("url") or DEFAULT_REDIS
    in_file = urlsplit(str(section.get("url", ""))).password
    if in_file and config.path and stat.S_IMODE(config.path.stat().st_mode) & 0o077:
        # click's own error: tests/test_crawler_distributed_auth.py calls this helper and expects it
        raise click.ClickException(f"{config.path}: [redis] url holds a password but the file is readable by "
                                   f"others; run `chmod 600 {config.path}` or use [redis] password_env")
    return with_credentials(url, section.get("username"), config.secret("redis", "password"))


def connect(url: str):
    from crawler.distributed.connection import connect

    return connect(url, socket_connect_timeout=10, socket_timeout=60)


@click.command()
@profile_options
@click.option("--fresh", is_flag=True, help="Forget the shared queue and seen-set first (no other worker running).")
@verbose_option
@redis_options
def worker(platforms, profiles_dir, base_urls, keywords, fresh, verbose, config_path, redis_option, prefix,
           timeout):
    """Crawl as one of several workers sharing one Redis (scrapy-redis): a shared request queue and
    seen-set per platform; listings go to Redis for `sweep ingest`, the one database writer.

    Start as many as you like, on any machine that reaches Redis and the platforms; each exits
    when the crawl is done. A worker that dies (even SIGKILL) loses nothing: its unfinished
    requests go back on the queue once its heartbeat is --timeout seconds old. Each platform's
    crawl is checked by the monitors a worker can judge (finish_reason, error_ratio,
    retry_ratio, spider_errors; thresholds from [monitors] in the config file): a failed check
    is printed and the worker exits non-zero.

    Example:

        sweep worker --redis redis://127.0.0.1:6379/0 --platform forum
    """
    from crawler.distributed.settings import worker_settings
    from crawler.monitors import failures
    from crawler.profile import PROFILE_DIR, load_profiles
    from crawler.run import crawl

    from common.config import load_config
    from ops.cycle import crawl_overrides, monitor_failures

    url = redis_url(redis_option, config_path)
    overrides = crawl_overrides(load_config(config_path))    # [crawl] contact, [monitors] thresholds
    connect(url)
    profiles = load_profiles(profiles_dir or PROFILE_DIR, list(platforms) or None)
    if not profiles:
        raise SweepError("no enabled platform profiles to crawl")
    settings = worker_settings(url, base_urls, profiles_dir, {
        **overrides, "SWEEP_REDIS_PREFIX": prefix, "SWEEP_WORKER_TIMEOUT": timeout,
        "SCHEDULER_FLUSH_ON_START": fresh, "LOG_LEVEL": "INFO" if verbose else "WARNING",
        "SWEEP_PROGRESS_INTERVAL": 0})
    stats = crawl(profiles, settings, keywords)
    failed = []
    for name, s in stats.items():
        reason = s.get("finish_reason", "not started")
        checks = s.get("sweep/monitors", [])
        rejected = sum(v for k, v in s.items() if k.startswith("sweep/redis/rejected/"))
        click.echo(f"{name}: {s.get('response_received_count', 0)} pages, {s.get('sweep/pushed', 0)} listings "
                   f"pushed, {s.get('worker/requeued', 0)} requests taken back from dead workers"
                   f"{f', {rejected} queue entries rejected' if rejected else ''}; {reason}; "
                   f"monitors {len(checks) - len(failures(checks))} of {len(checks)} OK")
        if reason != "finished":
            failed.append(f"{name}: worker ended with {reason!r}")
    # finish_reason is said above, in the worker's words; the other checks as `sweep run` words them.
    failed += monitor_failures({n: [r for r in s.get("sweep/monitors", []) if r["monitor"] != "finish_reason"]
                                for n, s in stats.items()})
    if failed:
        raise SweepError("; ".join(failed))


@click.command()
@db_option
@model_option
@click.option("--batch", default=200, show_default=True, help="Listings per transaction.")
@click.option("--exit-when-idle", type=float, metavar="SECONDS",
              help="Exit once no worker has been alive and nothing has arrived for this long (default: run "
                   "until interrupted).")
@redis_options
def ingest(db_path, model_path, batch, exit_when_idle, config_path, redis_option, prefix, timeout):
    """Store what `sweep worker`s crawl: the one process that writes the database. Listings are
    taken from Redis in batches, validated, normalised, deduplicated, classified and committed;
    a batch leaves Redis only once committed, so killing ingest loses nothing.

    Each distributed crawl is one run: it closes when no worker is alive and nothing is left.

    Example:

        sweep ingest --redis redis://127.0.0.1:6379/0 --db sweep.db
    """
    from classifier.artifact import DEFAULT_MODEL
    from crawler.distributed.keys import Keys

    from crawler.distributed.ingest import Ingest

    server = connect(redis_url(redis_option, config_path))
    job = Ingest(server, db_path, model_path or str(DEFAULT_MODEL), Keys(prefix), batch_size=batch,
                 lock_ttl=timeout)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    try:
        job.open()
        click.echo(f"ingest: waiting for listings in {prefix}:items (Ctrl-C to stop)", err=True)
        job.run(exit_when_idle, should_stop=lambda: bool(stopping))
    finally:
        if job.store is not None:
            job.close()
    rejected = sum(v for k, v in job.stats.items() if k.startswith("sweep/redis/rejected/"))
    click.echo(f"ingested {job.stats['ingested']} listings into {db_path}"
               f"{f' ({rejected} entries rejected, kept on {prefix}:rejected)' if rejected else ''}")
    if stopping:
        sys.exit(130)


COMMANDS = (worker, ingest)
