"""The review UI's pages. Handlers stay thin: SQL lives in review/queue.py, dashboard.py, users.py."""
from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from store import metrics as dashboard

from takedown import escalation
from review.queue import (CATEGORIES, QUEUE_STATES, REJECT_REASONS, REOPENABLE, UNDOABLE, ClaimedByOther,
                      ReviewError)
from visibility.report import visibility_over_time
from store.states import audit
from review.users import session_start
import review.web.charts as charts
from review.web.app import HERE, BadRequest, Ctx, page, qs, when
from review.web.highlight import highlight

PAGE_SIZE = 50
MAX_PAGE = 1_000_000            # the page number shown; paging itself is by cursor (after/before)
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def _local(target: str) -> str:
    """Only redirect to paths of this site (never ``//evil.example`` or ``https://…``)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/queue"


def _listing_url(listing_id: str | None, filters: dict) -> str:
    return "/listing?" + qs(id=listing_id, **filters) if listing_id else "/queue?" + qs(**filters)


# -- session ---------------------------------------------------------------------------------
@page(role=None)
def login(ctx: Ctx) -> Response:
    target = _local(ctx.value("next", "/queue"))
    if ctx.request.method == "GET":
        if ctx.user:
            return ctx.redirect(target)
        return ctx.render("login.html", next=target)
    name, password = ctx.value("name").strip()[:64], ctx.value("password")
    guard, users, address = ctx.request.app.state.throttle, ctx.users(), _client(ctx)
    refused = guard.refused(users, name, address)
    if refused:
        guard.failed(users, name, address)
        return ctx.render("login.html", status_code=429, next=target, name=name, error=(
            "Too many failed attempts for this account; wait a few minutes." if refused == "account" else
            "Too many failed sign-ins from your address; wait a few minutes."))
    user = users.authenticate(name, password) if name and password else None
    if user is None:
        guard.failed(users, name, address)
        return ctx.render("login.html", status_code=401, next=target, name=name,
                          error="Wrong name or password.")
    guard.succeeded(users, name, address)
    ctx.session.clear()                    # a fresh session (and CSRF token) for the signed-in user
    ctx.session.update(user=user["name"], since=session_start())
    with ctx.db.atomic():
        audit(ctx.db.conn, user["name"], "login", None, {"ip": _client(ctx)})
    return ctx.redirect(target)


def _client(ctx: Ctx) -> str | None:
    return ctx.request.client.host if ctx.request.client else None


@page()
def logout(ctx: Ctx) -> Response:
    ctx.users().end_sessions(ctx.user["name"])      # a copied cookie stops working too
    with ctx.db.atomic():
        audit(ctx.db.conn, ctx.user["name"], "logout", None, {})
    ctx.session.clear()
    return ctx.redirect("/login")


# -- the queue -------------------------------------------------------------------------------
@page()
def home(ctx: Ctx) -> Response:
    return ctx.redirect("/queue")


@page()
def queue(ctx: Ctx) -> Response:
    review, filters = ctx.review(), ctx.filters()
    number = ctx.number("page", default=1, maximum=MAX_PAGE)
    after, before = _cursor(ctx.value("after")), _cursor(ctx.value("before"))
    if after is None and before is None:
        number = 1                                  # a page number alone is not a position (keyset paging)
    # one row more than a page tells whether there is another page that way
    rows = review.queue(ctx.user["name"], filters, limit=PAGE_SIZE + 1, after=after, before=before)
    more = len(rows) > PAGE_SIZE
    rows = rows[1:] if (more and before is not None) else rows[:PAGE_SIZE]
    if before is not None and not more:
        number = 1                                  # came back to the head of the queue
    total = review.queue_size(ctx.user["name"], filters)
    older = _cursor_text(review.key(rows[-1])) if rows and (more or before is not None) else None
    newer = _cursor_text(review.key(rows[0])) if rows and number > 1 else None
    return ctx.render("queue.html", rows=rows, total=total, page=number, pages=max(1, -(-total // PAGE_SIZE)),
                      older=older, newer=newer, filters=filters, facets=review.facets(),
                      needs_person=review.needs_person(), needs_person_hint=escalation.HINT)


def _cursor_text(key: tuple) -> str:
    relisted_last, score, waiting, listing_id = key
    return f"{int(relisted_last)}~{score!r}~{waiting or ''}~{listing_id}"


def _cursor(raw: str) -> tuple | None:
    """A queue position from a link (``_cursor_text``); BadRequest for anything else."""
    if not raw:
        return None
    parts = raw.split("~", 3)
    try:
        if len(parts) != 4 or parts[0] not in ("0", "1") or len(raw) > 600:
            raise ValueError
        return (int(parts[0]), float(parts[1]), parts[2] or None, parts[3])
    except ValueError:
        raise BadRequest("after/before must be a queue position from a queue link") from None


@page()
def next_listing(ctx: Ctx) -> Response:
    filters = ctx.filters()
    listing_id = ctx.review().claim_next(ctx.user["name"], filters)
    if listing_id is None:
        ctx.flash("Nothing left in the queue for these filters.")
    return ctx.redirect(_listing_url(listing_id, filters))


@page()
def listing(ctx: Ctx) -> Response:
    """Reading only: a GET never claims (an ``<img src>`` anywhere could). The page's script
    claims through ``claim`` (POST, CSRF token); without script the Claim button does."""
    review, filters, me = ctx.review(), ctx.filters(), ctx.user["name"]
    listing_id = ctx.value("id")
    item = review.listing(listing_id) if listing_id else None
    if item is None:
        return ctx.error(404, "No such listing.")
    claim, claimed_by = None, None
    held = review.claim_of(listing_id) if item["state"] in QUEUE_STATES else None
    if held and held["reviewer"] == me:
        claim = held
    elif held:
        claimed_by = held
    prev_id, next_id = review.neighbours(listing_id, me, filters)
    explanation = (item["classification"] or {}).get("explanation") or []
    label = (item["classification"] or {}).get("label")
    last = item["reviews"][-1] if item["reviews"] else None
    return ctx.render(
        "listing.html", item=item, filters=filters, claim=claim, claimed_by=claimed_by,
        decidable=item["state"] in QUEUE_STATES and claimed_by is None,
        undoable=item["state"] in UNDOABLE and last is not None and (last["reviewer"] == me or ctx.admin),
        reopenable=item["state"] in REOPENABLE and ctx.admin,
        claim_minutes=round(ctx.settings["claim_timeout"] / 60),
        title_segments=highlight(item["title"] or "", explanation, "title"),
        description_segments=highlight(item["description"] or "", explanation, "description"),
        explanation=explanation, categories=CATEGORIES, reasons=REJECT_REASONS,
        default_category=label if label in CATEGORIES else CATEGORIES[0],
        prev_url=_listing_url(prev_id, filters) if prev_id else None,
        next_url=_listing_url(next_id, filters) if next_id and next_id != listing_id else None)


@page()
def claim_listing(ctx: Ctx) -> Response:
    """Claim (or renew) a listing for ``claim_timeout``. Answers JSON to the page's script,
    else goes back to the listing."""
    listing_id, filters = ctx.value("listing_id"), ctx.filters()
    try:
        held = ctx.review().claim(listing_id, ctx.user["name"])
    except ClaimedByOther as exc:
        status, body = 409, {"error": str(exc), "claimed_by": exc.reviewer, "expires_at": when(exc.expires_at)}
    except ReviewError as exc:
        status, body = 409, {"error": str(exc)}
    else:
        status, body = 200, {"claimed": True, "expires_at": when(held["expires_at"])}
    if "application/json" in ctx.request.headers.get("accept", ""):
        return JSONResponse(body, status_code=status)
    if status != 200:
        ctx.flash(body["error"], "error")
    return ctx.redirect(_listing_url(listing_id, filters))


@page()
def decide(ctx: Ctx) -> Response:
    review, filters, me = ctx.review(), ctx.filters(), ctx.user["name"]
    listing_id, decision = ctx.value("listing_id"), ctx.value("decision")
    _, next_id = review.neighbours(listing_id, me, filters)
    try:
        if decision == "confirm":
            review.confirm(listing_id, me, ctx.value("category"), ctx.value("note"))
            ctx.flash(f"Confirmed {listing_id} as {ctx.value('category')}.", "ok")
        elif decision == "reject":
            review.reject(listing_id, me, ctx.value("reason"))
            ctx.flash(f"Rejected {listing_id}.", "ok")
        else:
            return ctx.error(400, "Unknown decision.")
    except ReviewError as exc:
        ctx.flash(str(exc), "error")
        return ctx.redirect(_listing_url(listing_id, filters))
    ctx.session["undo"] = {"id": listing_id, "what": decision}      # the next page offers to take it back (u)
    return ctx.redirect(_listing_url(next_id if next_id != listing_id else None, filters))


@page()
def undo(ctx: Ctx) -> Response:
    """Take a decision back before its report is sent: the decider, or an admin."""
    review, filters, me = ctx.review(), ctx.filters(), ctx.user["name"]
    listing_id = ctx.value("listing_id")
    ctx.session.pop("undo", None)
    item = review.listing(listing_id)
    last = item["reviews"][-1] if item and item["reviews"] else None
    if last is None or (last["reviewer"] != me and not ctx.admin):
        ctx.flash(f"Only the reviewer who decided {listing_id} (or an admin) can undo it.", "error")
        return ctx.redirect(_listing_url(listing_id, filters))
    try:
        review.undo(listing_id, me, ctx.value("reason"))
    except ReviewError as exc:
        ctx.flash(str(exc), "error")
        return ctx.redirect(_listing_url(listing_id, filters))
    ctx.flash(f"Undone: {listing_id} is back in the queue.", "ok")
    return ctx.redirect(_listing_url(listing_id, filters))


@page(role="admin")
def reopen(ctx: Ctx) -> Response:
    """After the report was sent: back to the queue with a reason, and the report withdrawn where the channel can."""
    listing_id = ctx.value("listing_id")
    try:
        reports = ctx.review().reopen(listing_id, ctx.user["name"], ctx.value("reason"))
    except ReviewError as exc:
        ctx.flash(str(exc), "error")
    else:
        ctx.flash(f"Reopened {listing_id}; " + (f"the next `sweep report` withdraws report(s) "
                                                f"{', '.join(map(str, reports))} where the channel allows."
                                                if reports else "no sent report to withdraw."), "ok")
    return ctx.redirect(_listing_url(listing_id, {}))


@page()
def release(ctx: Ctx) -> Response:
    ctx.review().release(ctx.value("listing_id"), ctx.user["name"])
    return ctx.redirect("/queue?" + qs(**ctx.filters()))


# -- sellers ---------------------------------------------------------------------------------
@page()
def seller(ctx: Ctx) -> Response:
    found = ctx.review().seller(ctx.value("id"))
    if found is None:
        return ctx.error(404, "No such seller.")
    return ctx.render("seller.html", seller=found, categories=CATEGORIES, reasons=REJECT_REASONS)


@page(role="admin")
def seller_bulk(ctx: Ctx) -> Response:
    seller_id = ctx.value("seller_id")
    listing_ids = [v for v in ctx.form.getlist("listing_id") if isinstance(v, str)]
    if not listing_ids:
        ctx.flash("Select at least one listing.", "error")
        return ctx.redirect("/seller?" + qs(id=seller_id))
    try:
        # One category per row (category:<id>), preset to the listing's own label: never one for all.
        categories = {i: ctx.value(f"category:{i}") for i in listing_ids if ctx.value(f"category:{i}")}
        result = ctx.review().decide_seller(seller_id, ctx.user["name"], ctx.value("decision"), listing_ids,
                                            categories=categories, reason=ctx.value("reason"))
    except ReviewError as exc:
        ctx.flash(str(exc), "error")
    else:
        ctx.flash(f"{len(result['decided'])} listing(s) decided.", "ok")
        for listing_id, why in result["skipped"]:
            ctx.flash(f"Skipped {listing_id}: {why}", "error")
    return ctx.redirect("/seller?" + qs(id=seller_id))


# -- evidence --------------------------------------------------------------------------------
@page()
def screenshot(ctx: Ctx) -> Response:
    shot = ctx.review().screenshot(ctx.number("evidence id", raw=ctx.request.path_params["evidence_id"]))
    if shot is None:
        return ctx.error(404, "No screenshot for this evidence.")
    path = Path(shot["path"])
    if not path.is_absolute():        # relative paths are relative to the database's folder
        path = Path(ctx.settings["db_path"]).resolve().parent / path
    media = IMAGE_TYPES.get(path.suffix.lower())
    if media is None or not path.is_file():
        return ctx.error(404, "The screenshot file is missing.")
    data = path.read_bytes()
    if shot["sha256"] and hashlib.sha256(data).hexdigest() != shot["sha256"]:
        return ctx.error(409, "The screenshot file does not match the hash recorded when it was captured.")
    return Response(data, media_type=media)


# -- managers --------------------------------------------------------------------------------
def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _hours(x) -> str:
    if x is None:
        return "–"
    return f"{x * 60:.0f} min" if x < 1 else f"{x:.1f} h" if x < 48 else f"{x / 24:.1f} d"


@page()
def dashboard_page(ctx: Ctx) -> Response:
    rows = dashboard.platform_rows(ctx.db)
    total = next(r for r in rows if r["platform"] == "")
    platforms = [r for r in rows if r["platform"]]
    funnel = [(stage, total[stage], f"{total[stage]:,}" + (f"  ({total[stage] / total[prev]:.0%})" if prev and
                                                         total[prev] else ""))
              for prev, stage in zip((None, *dashboard.STAGES), dashboard.STAGES)]
    return ctx.render(
        "dashboard.html", total=total, platforms=platforms, stages=dashboard.STAGES, pct=_pct, hours=_hours,
        activity=dashboard.review_activity(ctx.db), needs_person=escalation.needing_person(ctx.db),
        visibility=visibility_over_time(ctx.db),
        funnel_chart=charts.bars(funnel),
        removal_chart=charts.bars([(r["platform"], r["removal_rate"], _pct(r["removal_rate"])) for r in platforms],
                                  maximum=1.0),
        time_chart=charts.bars([(r["platform"], r["median_hours"], _hours(r["median_hours"])) for r in platforms]),
        relist_chart=charts.bars([(r["platform"], r["relist_rate"], _pct(r["relist_rate"])) for r in platforms],
                                 maximum=1.0))


@page(role="admin")
def audit_page(ctx: Ctx) -> Response:
    before = ctx.number("before")
    listing_id, actor = ctx.value("listing"), ctx.value("actor")
    rows = ctx.review().audit_entries(listing_id or None, actor or None, before, limit=PAGE_SIZE * 2)
    older = rows[-1]["id"] if len(rows) == PAGE_SIZE * 2 else None
    return ctx.render("audit.html", rows=rows, listing=listing_id, actor=actor, older=older)


def routes() -> list:
    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/queue", queue),
        Route("/next", next_listing, methods=["POST"]),
        Route("/listing", listing),
        Route("/claim", claim_listing, methods=["POST"]),
        Route("/decide", decide, methods=["POST"]),
        Route("/release", release, methods=["POST"]),
        Route("/undo", undo, methods=["POST"]),
        Route("/reopen", reopen, methods=["POST"]),
        Route("/seller", seller),
        Route("/seller/bulk", seller_bulk, methods=["POST"]),
        Route("/evidence/{evidence_id}/screenshot", screenshot),
        Route("/dashboard", dashboard_page),
        Route("/audit", audit_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
