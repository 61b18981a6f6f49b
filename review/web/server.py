"""The app factory: the Starlette app from the routes (review/web/routes.py), the page wrapper's
security middleware and the login throttle, flushed to the audit log at shutdown."""
from __future__ import annotations

import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import review.web.security as security
from store.accounts import accounts_path, open_accounts
from store.db import open_db
from review.users import Users
from review.web.app import SESSION_HOURS, _environment, server_error
from review.web.routes import routes
from review.web.throttle import LoginGuard


def _flush_throttle(app: Starlette) -> None:
    settings = app.state.settings
    db = open_db(settings["db_path"], migrate=False)
    try:
        accounts = open_accounts(settings["accounts_path"], migrate=False)
        try:
            app.state.throttle.flush(Users(db, accounts), final=True)
        finally:
            accounts.close()
    finally:
        db.close()


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):
    yield
    await run_in_threadpool(_flush_throttle, app)     # counts held in memory reach the audit log at shutdown


def create_app(db_path: str | Path, session_key: str | None = None, claim_timeout: float = 600,
               https_only: bool = False, trusted_proxies=None) -> Starlette:
    """The review UI for the database at ``db_path`` (migrated here, once).

    ``trusted_proxies``: addresses/networks whose X-Forwarded-For names the client (default
    none). Serve it with ``server_config``, which keeps uvicorn from believing the header itself.
    """
    open_db(db_path).close()            # migrated: an old layout's accounts have moved out
    accounts = accounts_path(db_path)
    open_accounts(accounts).close()
    key = session_key or security.session_key(db_path)
    proxies = security.trusted_proxies(trusted_proxies)
    forwarded = [Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)] if proxies else []
    app = Starlette(routes=routes(), exception_handlers={Exception: server_error}, lifespan=_lifespan, middleware=[
        *forwarded,
        Middleware(security.SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=key, session_cookie="sweep_session",
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=https_only),
    ])
    app.state.settings = {"db_path": str(db_path), "accounts_path": str(accounts), "claim_timeout": claim_timeout}
    app.state.templates = _environment()
    app.state.throttle = LoginGuard()
    return app
