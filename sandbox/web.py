"""Pieces every sandbox platform shares: page shell, paging, rate limiting, robots.txt, report intake."""
from __future__ import annotations

import collections
import json
import time
from html import escape
from urllib.parse import quote

from aiohttp import web

from .moderation import Moderation

PAGE_SIZE = 20
ROBOTS = "User-agent: *\nDisallow: /admin/\nDisallow: /report\n"
# A 1x1 PNG, served for every listing image.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
CATEGORY_NAMES = {"call_bomber": "呼死你/骚扰呼叫", "caller_id_spoof": "改号", "sms_bomber": "短信轰炸",
                  "modem_pool": "猫池", "voice_gateway": "语音网关", "other": "其他违规"}


def shell(title: str, body: str, charset: str = "utf-8", head: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="{charset}">'
            f"<title>{escape(title)}</title>{head}</head>\n<body>\n{body}\n</body></html>\n")


def text_html(text: str) -> str:
    """Escaped text whose line breaks show as the page's own <br> (a raw newline is only a space)."""
    return escape(text).replace("\n", "<br>")


def page_of(items: list, request: web.Request) -> tuple[list, int, bool]:
    """The slice for ?page=N (1-based), the page number, and whether a next page exists."""
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    start = (page - 1) * PAGE_SIZE
    return items[start:start + PAGE_SIZE], page, start + PAGE_SIZE < len(items)


def matches(query: str, *texts: str) -> bool:
    """Plain substring search, as most platform search boxes do: every term must appear."""
    blob = " ".join(texts).lower()
    return all(term in blob for term in query.lower().split())


def qs(value: str) -> str:
    return quote(value, safe="")


class RateLimiter:
    """Answer 429 with Retry-After once more than ``rate`` requests arrive within one second."""

    def __init__(self, rate: float):
        self.rate = rate
        self.window: collections.deque[float] = collections.deque()
        self.refused = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if self.rate > 0:
            now = time.monotonic()
            while self.window and now - self.window[0] > 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate:
                self.refused += 1
                return web.Response(status=429, text="请求过于频繁，请稍后再试", headers={"Retry-After": "1"})
            self.window.append(now)
        return await handler(request)


def moderated(moderation: Moderation):
    """Middleware: removals whose delay has passed take effect before any page is served."""
    @web.middleware
    async def moderate(request, handler):
        moderation.apply_due()
        return await handler(request)

    return moderate


def add_common_routes(app: web.Application, platform: str, moderation: Moderation, resolve) -> None:
    """robots.txt, images, and the report intake (JSON API + HTML form).

    ``resolve(url_or_id)`` maps what a reporter submits to a catalogue row or None.
    """

    async def robots(request):
        return web.Response(text=ROBOTS)

    async def image(request):
        return web.Response(body=PNG, content_type="image/png")

    async def file_report(payload: dict):
        targets = payload.get("listings") or [payload.get("url") or payload.get("listing_id") or ""]
        rows = [resolve(str(t)) for t in targets]
        if not targets or any(r is None for r in rows):
            return None, {"error": "unknown listing", "listings": targets}
        report, created = moderation.file(
            platform, [r.key for r in rows], str(targets[0]), str(payload.get("category", "")),
            str(payload.get("reason", "")), str(payload.get("reporter", "anonymous")),
            payload.get("idempotency_key"))
        return report, {"report_id": report.report_id, "status": "received", "duplicate": not created,
                        "listings": report.listing_keys}

    async def api_report(request):
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        report, body = await file_report(payload)
        if report is None:
            return web.json_response(body, status=404)
        return web.json_response(body, status=200 if body["duplicate"] else 201)

    async def api_report_status(request):
        report = moderation.reports.get(request.match_info["rid"])
        if report is None or report.platform != platform:
            return web.json_response({"error": "no such report"}, status=404)
        moderation.apply_due()
        removed = [k for k in report.listing_keys if k in moderation.removed]
        return web.json_response({"report_id": report.report_id, "listings": report.listing_keys,
                                  "removed": removed, "received_at": report.received_at,
                                  "withdrawn": sorted(report.withdrawn)})

    async def api_report_withdraw(request):
        """``POST /api/report/{rid}/withdraw`` {"listings": [url, ...], "reason"}: the reporter takes it back."""
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("listings"), list):
            return web.json_response({"error": "body must be a JSON object with listings"}, status=400)
        rows = [resolve(str(t)) for t in payload["listings"]]
        known = moderation.reports.get(request.match_info["rid"])
        if known is None or known.platform != platform or any(r is None for r in rows):
            return web.json_response({"error": "no such report or listing"}, status=404)
        report = moderation.withdraw(known.report_id, [r.key for r in rows], str(payload.get("reason", ""))[:500])
        return web.json_response({"report_id": report.report_id, "status": "withdrawn",
                                  "withdrawn": sorted(report.withdrawn)})

    async def api_reports(request):
        return web.json_response([{"report_id": r.report_id, "listings": r.listing_keys,
                                   "idempotency_key": r.idempotency_key, "category": r.category}
                                  for r in moderation.reports.values() if r.platform == platform])

    async def report_form(request):
        target = escape(request.query.get("url", ""))
        options = "".join(f'<option value="{k}">{escape(v)}</option>' for k, v in CATEGORY_NAMES.items())
        return web.Response(content_type="text/html", text=shell("举报", (
            f'<form method="post" action="/report"><input name="url" value="{target}">'
            f'<select name="category">{options}</select><textarea name="reason"></textarea>'
            f'<input name="reporter"><button type="submit">提交举报</button></form>')))

    async def report_post(request):
        form = await request.post()
        report, body = await file_report(dict(form))
        if report is None:
            return web.Response(status=404, content_type="text/html", text=shell("举报失败", "<p>未找到该内容</p>"))
        return web.Response(content_type="text/html", text=shell("举报成功", (
            f'<p class="report-ok">举报已受理，编号 <span id="report-id">{report.report_id}</span></p>')))

    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/img/{name}", image)
    app.router.add_post("/api/report", api_report)
    app.router.add_get("/api/report/{rid}", api_report_status)
    app.router.add_post("/api/report/{rid}/withdraw", api_report_withdraw)
    app.router.add_get("/api/reports", api_reports)
    app.router.add_get("/report", report_form)
    app.router.add_post("/report", report_post)
    add_admin(app, platform, moderation, resolve)


# What a listing page says once the platform closed its seller's shop/account (a removal signal).
ACCOUNT_CLOSED = {"marketplace": "该店铺已关闭", "appstore": "该开发者账号已注销", "forum": "该用户已被封禁",
                  "codehost": "该账号已被封禁", "social": "该频道已被封禁"}


def add_admin(app: web.Application, platform: str, moderation: Moderation, resolve) -> None:
    """Platform-side levers tests pull: close a seller's shop, make a listing fail transiently.

    ``POST /admin/shops/{seller_id}/close``; ``POST /admin/glitch`` {"listing", "count", "status"}.
    Nothing changes for listing pages until one is used.
    """
    charset = "gbk" if platform == "forum" else "utf-8"

    @web.middleware
    async def account_state(request, handler):
        if request.method == "GET" and (moderation.closed_shops or moderation.glitches):
            row = resolve(request.path)
            if row is not None:
                status = moderation.take_glitch(row.key)
                if status:
                    return html(shell("页面不存在", "<p>您访问的页面不存在</p>", charset),
                                status=status, charset=charset)
                if (platform, row.seller_id) in moderation.closed_shops:
                    text = ACCOUNT_CLOSED[platform]
                    return html(shell(text, f'<div class="account-closed">{text}</div>', charset), charset=charset)
        return await handler(request)

    async def close_shop(request):
        moderation.close_shop(platform, request.match_info["sid"])
        return web.json_response({"closed": request.match_info["sid"]})

    async def glitch(request):
        payload = await request.json()
        row = resolve(str(payload.get("listing", "")))
        if row is None:
            return web.json_response({"error": "unknown listing"}, status=404)
        moderation.glitch(row.key, int(payload.get("count", 1)), int(payload.get("status", 404)))
        return web.json_response({"listing": row.key})

    app.middlewares.append(account_state)
    app.router.add_post("/admin/shops/{sid}/close", close_shop)
    app.router.add_post("/admin/glitch", glitch)


def html(text: str, status: int = 200, charset: str = "utf-8") -> web.Response:
    if charset == "utf-8":
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    # Discuz!-era forums: GBK bytes; characters GBK lacks (emoji) become numeric references.
    return web.Response(body=text.encode(charset, errors="xmlcharrefreplace"), status=status,
                        headers={"Content-Type": f"text/html; charset={charset}"})
