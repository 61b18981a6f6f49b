"""`sweep review` and `sweep users …`: the reviewer web UI and its accounts (review/).

Passwords come from an environment variable named with ``--password-env`` or, only when a
person is at the terminal, a hidden prompt. They are never arguments (shell history, ps)
and never printed, except the demo account's, made up and shown once by `sweep demo`.
"""
from __future__ import annotations

import os
import secrets
import sys

import click

from common.errors import SweepError
from cli.options import config_option, db_option, existing_db_option

password_env_option = click.option("--password-env", metavar="VAR",
                                   help="Read the password from this environment variable (else a hidden prompt, "
                                        "only when interactive).")
DEMO_USER = "demo"


def _users(db_path):
    from store.db import open_db
    from review.users import Users

    return Users(open_db(db_path))


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise SweepError(f"--password-env names ${password_env}, which is not set")
        return value
    if not sys.stdin.isatty():
        raise SweepError("no password given: use --password-env VAR when not running interactively")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command()
@existing_db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8800, show_default=True, help="Port to listen on.")
@click.option("--claim-timeout", default=600, show_default=True,
              help="Seconds a reviewer keeps a listing they opened before others may take it.")
@click.option("--https-only", is_flag=True, help="Mark the session cookie Secure (behind an HTTPS proxy).")
@config_option
def review(db_path, host, port, claim_timeout, https_only, config_path):
    """Serve the reviewer web UI: queue, listing pages, decisions, dashboard, audit log.

    Sign in with an account made by `sweep users add`.

    Example:

        sweep review --db sweep.db --port 8800
    """
    serve(db_path, host, port, claim_timeout, https_only, config_path)


def serve(db_path, host: str = "127.0.0.1", port: int = 8800, claim_timeout: float = 600,
          https_only: bool = False, config_path=None) -> None:
    """Run the review UI in the foreground until Ctrl-C."""
    import uvicorn

    from common.config import load_config
    from review.web import create_app
    from review.web.app import server_config

    web = load_config(config_path).section("web")
    try:
        app = create_app(db_path, claim_timeout=claim_timeout, https_only=https_only,
                         trusted_proxies=web.get("trusted_proxies"))
    except ValueError as exc:       # [web] trusted_proxies that is not a list of addresses
        raise SweepError(str(exc)) from None
    if not _users(db_path).list():
        click.echo("no accounts yet: create one with `sweep users add NAME --role admin`", err=True)
    click.echo(f"review UI on http://{host}:{port}/  (Ctrl-C to stop)", err=True)
    uvicorn.Server(server_config(app, host=host, port=port)).run()


def demo_account(db_path) -> str:
    """(Re)create the demo reviewer with a fresh random password and return it."""
    users = _users(db_path)
    password = secrets.token_urlsafe(12)
    if users.get(DEMO_USER):
        users.set_password(DEMO_USER, password, actor="sweep demo")
        users.set_disabled(DEMO_USER, False, actor="sweep demo")
    else:
        users.add(DEMO_USER, "reviewer", password, actor="sweep demo")
    return password


@click.group()
def users():
    """Accounts for the review UI (roles: reviewer decides; admin also bulk-decides and reads the audit log).

    They live in sweep-accounts.db beside the database (mode 0600; $SWEEP_ACCOUNTS_DB to move it),
    never in sweep.db itself.

    Example:

        SWEEP_PW=... sweep users add alice --role reviewer --password-env SWEEP_PW
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reviewer", "admin"]), required=True, help="What the account may do.")
@password_env_option
@db_option
def users_add(name, role, password_env, db_path):
    """Create an account (argon2-hashed password).

    Example:

        sweep users add alice --role reviewer
    """
    password = _password(password_env)
    _users(db_path).add(name, role, password)
    click.echo(f"user {name} ({role}) created")


@users.command("passwd")
@click.argument("name")
@password_env_option
@db_option
def users_passwd(name, password_env, db_path):
    """Set a new password; the account's open sessions end.

    Example:

        sweep users passwd alice
    """
    password = _password(password_env)
    _users(db_path).set_password(name, password)
    click.echo(f"password of {name} changed")


@users.command("disable")
@click.argument("name")
@db_option
def users_disable(name, db_path):
    """Stop an account from signing in; its open sessions end at once.

    Example:

        sweep users disable alice
    """
    _users(db_path).set_disabled(name, True)
    click.echo(f"user {name} disabled")


@users.command("enable")
@click.argument("name")
@db_option
def users_enable(name, db_path):
    """Let a disabled account sign in again.

    Example:

        sweep users enable alice
    """
    _users(db_path).set_disabled(name, False)
    click.echo(f"user {name} enabled")


@users.command("list")
@db_option
def users_list(db_path):
    """Accounts and their roles (never passwords or hashes).

    Example:

        sweep users list --db sweep.db
    """
    for user in _users(db_path).list():
        click.echo(f"{user['name']:<20} {user['role']:<9} {'disabled' if user['disabled'] else 'active':<9} "
                   f"since {user['created_at']}")


COMMANDS = (review, users)
