"""The one wrapper every page goes through, and the helpers pages share (review/web/server.py builds the app).

A request reaches a handler only after: its form (POST) carried this session's CSRF token,
the session's user still exists, is enabled and has the page's role. Handlers run in a
worker thread with their own SQLite connections (the listings database and the accounts
file), closed when the response is built.
"""
from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from store.accounts import open_accounts
from common.bidi import neutralise
from store.db import open_db
from review.queue import KEPT, Review
from review.users import Users
import review.web.security as security

HERE = Path(__file__).parent
SESSION_HOURS = 12
MAX_NUMBER = 2**63 - 1          # SQLite's INTEGER; anything larger cannot be a page, id or offset


class BadRequest(ValueError):
    """A parameter the page cannot use: answered 400 with the message."""


def http_url(value) -> str | None:
    """Only http(s) links are rendered as links: a seller's ``javascript:`` URL stays text."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def when(value) -> str:
    """ISO timestamp → ``2026-11-27 22:15``; anything else shown as it is."""
    if not isinstance(value, str) or len(value) < 16 or value[10] != "T":
        return value or ""
    return value[:10] + " " + value[11:16]


def qs(**params) -> str:
    """A query string of the non-empty ``params``."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _finalize(value):
    """Every ``{{ … }}`` passes here before escaping: bidi controls in crawled text are made visible.
    Markup is left alone — it was built from output that already passed here (macros) or is
    ``verbatim`` on purpose."""
    return value if isinstance(value, Markup) else neutralise(value)


def verbatim(value) -> Markup:
    """Escaped but not neutralised: form values that must round-trip (a listing's id)."""
    return escape(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, finalize=_finalize)
    env.filters.update(http_url=http_url, when=when, verbatim=verbatim)
    env.globals.update(qs=qs)
    return env


class Ctx:
    """What a handler gets: the request, its form, connections to the listings database and
    the accounts file, and the user."""

    def __init__(self, request: Request, form, db, accounts, user: dict | None):
        self.request, self.form, self.db, self.accounts, self.user = request, form, db, accounts, user
        self.settings = request.app.state.settings

    @property
    def admin(self) -> bool:
        return bool(self.user and self.user["role"] == "admin")

    @property
    def session(self):
        return self.request.session

    @property
    def args(self):
        return self.request.query_params

    def value(self, name: str, default: str = "") -> str:
        """A form field (POST) or query parameter (GET)."""
        source = self.form if self.form is not None else self.args
        value = source.get(name, default)
        return value if isinstance(value, str) else default

    def number(self, name: str, default: int | None = None, minimum: int = 1, maximum: int = MAX_NUMBER,
               raw: str | None = None) -> int | None:
        """A whole-number parameter (``raw`` if given, else the field ``name``); BadRequest if it is not one."""
        raw = self.value(name) if raw is None else raw
        if raw == "":
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and minimum <= int(raw) <= maximum):
            raise BadRequest(f"{name} must be a whole number from {minimum} to {maximum}")
        return int(raw)

    def filters(self) -> dict:
        return {name: self.value(name) for name in KEPT if self.value(name)}

    def review(self) -> Review:
        return Review(self.db, claim_timeout=self.settings["claim_timeout"])

    def users(self) -> Users:
        return Users(self.db, self.accounts)

    def flash(self, message: str, kind: str = "info") -> None:
        self.session.setdefault("flash", []).append([kind, message])
        self.session["flash"] = self.session["flash"][-5:]

    def render(self, template: str, status_code: int = 200, **context) -> HTMLResponse:
        env: jinja2.Environment = self.request.app.state.templates
        context.update(user=self.user, csrf_token=security.csrf_token(self.session), undo=self.session.get("undo"),
                       flashes=self.session.pop("flash", []), path=self.request.url.path)
        return HTMLResponse(env.get_template(template).render(**context), status_code=status_code)

    def error(self, status_code: int, message: str) -> HTMLResponse:
        return self.render("error.html", status_code=status_code, message=message)

    @staticmethod
    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def page(role: str | None = "reviewer"):
    """Wrap a synchronous handler ``fn(ctx) -> Response``.

    ``role``: None (anyone, e.g. the login page), "reviewer" (any signed-in user) or "admin".
    """
    def wrap(fn):
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=2000)
                if not security.csrf_ok(request.session, form.get("csrf_token")):
                    return PlainTextResponse("Refused: this form's CSRF token is missing or wrong. Reload the page "
                                             "and try again.", status_code=403)
            return await run_in_threadpool(_run, fn, request, form, role)
        return endpoint
    return wrap


def _run(fn, request: Request, form, role: str | None) -> Response:
    settings = request.app.state.settings
    db = open_db(settings["db_path"], migrate=False)
    accounts = None
    try:
        accounts = open_accounts(settings["accounts_path"], migrate=False)     # create_app migrated it
        user = None
        name = request.session.get("user")
        if name:
            user = Users(db, accounts).session_valid(name, request.session.get("since", ""))
            if user is None:            # disabled, deleted or password changed since sign-in
                request.session.clear()
        ctx = Ctx(request, form, db, accounts, user)
        if role and user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return ctx.redirect("/login?" + qs(next=target))
        if role == "admin" and user["role"] != "admin":
            return ctx.error(403, "Only admins can do this.")
        try:
            return fn(ctx)
        except BadRequest as exc:
            return ctx.error(400, str(exc))
    finally:
        if accounts is not None:
            accounts.close()
        db.close()


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. Starlette sends it from outside every middleware, so it carries the
    security headers itself."""
    return PlainTextResponse("Internal server error.", status_code=500, headers=security.HEADERS)


def server_config(app, **kwargs):
    """uvicorn settings for serving the UI. uvicorn's own proxy-header handling is off: it
    believes X-Forwarded-For from 127.0.0.1 by default, so any local process (or a proxy
    passing the header through) could choose its address; ``create_app`` applies
    ``trusted_proxies`` instead."""
    import uvicorn

    return uvicorn.Config(app, proxy_headers=False, server_header=False, log_level="warning", **kwargs)
