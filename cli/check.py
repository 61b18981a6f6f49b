"""`sweep serve-check`, `sweep keys …` and `sweep check-stream`: the pre-publication check (precheck/)."""
from __future__ import annotations

import signal

import click

from common.errors import SweepError
from cli.crawl import connect, redis_url
from cli.options import config_option, db_option, model_option, redis_options


def _accounts(db_path):
    from store.accounts import accounts_path, open_accounts
    from precheck import keys as _keys  # noqa: F401  (registers the api_keys migration)

    return open_accounts(accounts_path(db_path))


def _service(db_path, config_path, model_path):
    from common.config import load_config
    from precheck.api import build_service

    try:
        return build_service(db_path, load_config(config_path), model_path)
    except ValueError as exc:       # a [check] setting that is not a number
        raise SweepError(str(exc)) from None


@click.command("serve-check")
@db_option
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8810, show_default=True, help="Port to listen on.")
@model_option
def serve_check(db_path, config_path, host, port, model_path):
    """Serve the pre-publication check API (POST /v1/check, /v1/check/batch; GET /healthz,
    /openapi.json) until interrupted. Callers need a key from `sweep keys add`.

    Example:

        sweep serve-check --db sweep.db --port 8810
    """
    import uvicorn

    from precheck.api import create_app

    _accounts(db_path).close()          # the keys table exists before the first request
    service = _service(db_path, config_path, model_path)
    click.echo(f"check API on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        service.close()


@click.group()
def keys():
    """API keys of the check API (kept hashed in the accounts file).

    Example:

        sweep keys add moderation-backend --rate 200
    """


@keys.command("add")
@click.argument("name")
@click.option("--rate", default=50.0, show_default=True, help="Requests per second allowed for this key.")
@db_option
def keys_add(name, rate, db_path):
    """Create an API key and print it once (only its SHA-256 is stored).

    Example:

        sweep keys add moderation-backend --rate 200 --db sweep.db
    """
    from precheck.keys import add_key

    key = add_key(_accounts(db_path), name, rate)
    click.echo(key)
    click.echo(f"key {name!r} created ({rate:g} requests/s); it is shown only now", err=True)


@keys.command("revoke")
@click.argument("name")
@db_option
def keys_revoke(name, db_path):
    """Revoke an API key (refused by a running server within seconds).

    Example:

        sweep keys revoke moderation-backend --db sweep.db
    """
    from precheck.keys import revoke_key

    revoke_key(_accounts(db_path), name)
    click.echo(f"key {name!r} revoked")


@keys.command("list")
@db_option
def keys_list(db_path):
    """API keys: name, rate, created, revoked.

    Example:

        sweep keys list --db sweep.db
    """
    from precheck.keys import list_keys

    for k in list_keys(_accounts(db_path)):
        click.echo(f"{k['name']:<24} {k['rate_per_second']:>8g}/s  created {k['created_at']}"
                   f"{'  revoked ' + k['revoked_at'] if k['revoked_at'] else ''}")


@click.command("check-stream")
@db_option
@redis_options
@click.option("--consumer", help="This consumer's name in the group (default: host-pid).")
@click.option("--batch", default=100, show_default=True, help="Entries read at once.")
@click.option("--claim-idle", default=30.0, show_default=True,
              help="Seconds an entry may stay pending before another consumer takes it over.")
@click.option("--exit-when-idle", type=float, help="Exit after this many seconds with nothing to do.")
@model_option
def check_stream(db_path, config_path, redis_option, prefix, timeout, consumer, batch, claim_idle, exit_when_idle,
                 model_path):
    """Decide listings from the Redis Stream <prefix>:check:in into <prefix>:check:out, as one
    consumer of the group <prefix>:check (start several; a killed one's entries are taken over).

    Example:

        sweep check-stream --redis redis://127.0.0.1:6379/0 --db sweep.db
    """
    from precheck.stream import StreamChecker

    server = connect(redis_url(redis_option, config_path))
    service = _service(db_path, config_path, model_path)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    worker = StreamChecker(server, service.checker, prefix, consumer, batch, claim_idle_ms=int(claim_idle * 1000),
                           decision_log=service.log)
    click.echo(f"check-stream: consumer {worker.consumer} of {worker.keys['group']}", err=True)
    try:
        counts = worker.run(stop=lambda: bool(stopping), exit_when_idle=exit_when_idle)
    except KeyboardInterrupt:
        counts = worker.counts
    finally:
        service.close()
    click.echo(f"check-stream: {counts['decided']} decided, {counts['invalid']} invalid, "
               f"{counts['claimed']} taken over from other consumers, "
               f"{counts['lost']} answered meanwhile by another")


COMMANDS = (serve_check, keys, check_stream)
