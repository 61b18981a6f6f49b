"""Options more than one command takes, declared once so they read (and behave) the same everywhere."""
from __future__ import annotations

from pathlib import Path

import click

from store.db import DEFAULT_DB

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _must_exist(ctx, param, value):
    if value != ":memory:" and not Path(value).exists():     # opening it would create an empty one and say "0"
        raise click.ClickException(f"no database at {value}: no such database file — check --db "
                                   f"(sweep crawl, run, demo or ingest create one)")
    return value


def _clock(ctx, param, value):
    from common.clock import clock_for

    try:
        return clock_for(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _base_urls(ctx, param, values) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{value!r}: expected NAME=URL, e.g. marketplace=http://127.0.0.1:8701")
        out[name] = url
    return out


# A command that writes creates the database; one that only reads refuses a mistyped --db.
db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
                         help="SQLite database file.")
existing_db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True,
                                  type=click.Path(dir_okay=False), callback=_must_exist,
                                  help="SQLite database file (must exist).")
config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="Config file (default: $SWEEP_CONFIG, else ./sweep.toml if present).")
now_option = click.option("--now", "clock", metavar="ISO8601", callback=_clock,
                          help="Run on a clock moved to this time: deadlines, schedules and timestamps move, the "
                               "network does not (tests, replays).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
model_option = click.option("--model", "model_path", type=click.Path(dir_okay=False),
                            help="Model artifact (default: bundled).")
platform_option = click.option("--platform", "platforms", multiple=True,
                               help="Profile name (repeatable; default: all enabled).")
profiles_option = click.option("--profiles", "profiles_dir", type=click.Path(file_okay=False, exists=True),
                               help="Directory of site profiles (default: crawler/profiles).")
base_url_option = click.option("--base-url", "base_urls", multiple=True, metavar="NAME=URL", callback=_base_urls,
                               help="Point a profile at another address (repeatable).")
keywords_option = click.option("--keywords", help="Comma-separated search keywords replacing the keyword list.")
verbose_option = click.option("-v", "--verbose", is_flag=True,
                              help="Scrapy's INFO log and tracebacks (default: one line per problem).")


def _stack(*decorators):
    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn
    return apply


profile_options = _stack(platform_option, profiles_option, base_url_option, keywords_option)
crawl_options = _stack(db_option, profile_options, verbose_option,
                       click.option("--resume", is_flag=True, help="Continue an interrupted crawl (killed, stopped, "
                                                                   "disk full) from its frontier."))
redis_options = _stack(
    config_option,
    click.option("--redis", "redis_option", envvar="SWEEP_REDIS_URL", metavar="URL",
                 help=f"Redis shared by the workers and ingest: redis://[user:password@]host:port/db, or rediss:// "
                      f"for TLS (?ssl_ca_certs=PATH). A password here shows in `ps`: prefer $SWEEP_REDIS_URL or "
                      f"[redis] password_env [default {DEFAULT_REDIS}]."),
    click.option("--prefix", default="sweep", show_default=True, help="Prefix of every Redis key."),
    click.option("--timeout", default=30.0, show_default=True,
                 help="Seconds without a heartbeat before a worker counts as dead (its requests are retaken)."))
