"""应用汇 — an Android app store: search (HTML and JSON API), categories, app pages."""
from __future__ import annotations

import re
from html import escape

from aiohttp import web

from .catalogue import APP_CATEGORIES, Catalogue, Row
from .moderation import Moderation
from .web import PAGE_SIZE, add_common_routes, html, matches, moderated, page_of, qs, shell, text_html

SITE = "应用汇"
APP_URL = re.compile(r"/app/(\d+)")


def _entry(row: Row) -> str:
    return (f'<li class="app" data-id="{row.pid}"><a class="app-link" href="/app/{row.pid}">{escape(row.title)}</a>'
            f' <span class="dev">{escape(row.developer or "")}</span></li>')


def build(catalogue: Catalogue, moderation: Moderation) -> web.Application:
    app = web.Application()

    def live_matching(q: str) -> list[Row]:
        return [r for r in catalogue.apps.values()
                if q and moderation.is_live(r) and matches(q, r.title, r.description)]

    def resolve(target: str) -> Row | None:
        m = APP_URL.search(target)
        return catalogue.apps.get(m.group(1) if m else target.rpartition(":")[2])

    def list_page(title, rows, request, base):
        chunk, page, more = page_of(rows, request)
        items = "\n".join(_entry(r) for r in chunk) or '<li class="empty">暂无应用</li>'
        pager = f'<a class="next" href="{base}page={page + 1}">下一页</a>' if more else ""
        return html(shell(f"{title} - {SITE}", f'<h2>{escape(title)}</h2><ul class="app-list">\n{items}\n</ul>'
                                                f'<div class="pager">{pager}</div>'))

    async def home(request):
        links = "".join(f'<li><a class="cat" href="/category/{slug}">{name}</a></li>'
                        for slug, name in APP_CATEGORIES.items())
        return html(shell(SITE, f"<h1>{SITE}</h1><ul>{links}</ul>"))

    async def search(request):
        q = request.query.get("q", "").strip()
        return list_page(f"搜索：{q}", live_matching(q), request, f"/search?q={qs(q)}&")

    async def api_search(request):
        q = request.query.get("q", "").strip()
        chunk, page, more = page_of(live_matching(q), request)
        return web.json_response({
            "q": q, "page": page, "page_size": PAGE_SIZE,
            "results": [{"id": r.pid, "name": r.title, "developer": r.developer, "url": f"/app/{r.pid}"}
                        for r in chunk],
            "next": f"/api/search?q={qs(q)}&page={page + 1}" if more else None})

    async def category(request):
        slug = request.match_info["slug"]
        if slug not in APP_CATEGORIES:
            raise web.HTTPNotFound()
        rows = [r for r in catalogue.apps.values() if r.category == slug and moderation.is_live(r)]
        return list_page(APP_CATEGORIES[slug], rows, request, f"/category/{slug}?")

    async def app_page(request):
        row = catalogue.apps.get(request.match_info["pid"])
        signal = moderation.signal(row) if row else "gone_404"
        if signal == "gone_404":
            return html(shell("应用不存在", "<p>应用不存在</p>"), status=404)
        if signal == "gone_410":
            return html(shell("应用已删除", "<p>该应用已被删除</p>"), status=410)
        if signal == "redirect":
            raise web.HTTPFound(f"/search?q={qs(row.title[:2])}")
        if signal:
            return html(shell(SITE, '<div class="app-offline"><h2>该应用已下架</h2></div>'))
        body = (f'<div class="app-detail" data-app-id="{row.pid}">'
                f'<img class="icon" src="/img/app-{row.pid}.png">'
                f'<h1 class="app-name">{escape(row.title)}</h1>'
                f'<p>开发者：<a class="developer" href="/developer/{row.seller_id}">'
                f'{escape(row.developer or "")}</a></p>'
                f'<p>版本：<span class="version">{row.version}</span> '
                f'下载：<span class="downloads">{row.downloads}</span>次</p>'
                f'<div class="app-desc">{text_html(row.description)}</div>'
                f'<a class="report" href="/report?url=/app/{row.pid}">举报</a></div>')
        return html(shell(f"{row.title} - {SITE}", body))

    async def developer(request):
        sid = request.match_info["sid"]
        rows = [r for r in catalogue.apps.values() if r.seller_id == sid and moderation.is_live(r)]
        if not rows:
            return html(shell("开发者不存在", "<p>开发者不存在</p>"), status=404)
        return list_page(f"{rows[0].developer} 的应用", rows, request, f"/developer/{sid}?")

    app.middlewares.append(moderated(moderation))
    app.router.add_get("/", home)
    app.router.add_get("/search", search)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/category/{slug}", category)
    app.router.add_get("/app/{pid:\\d+}", app_page)
    app.router.add_get("/developer/{sid}", developer)
    add_common_routes(app, "appstore", moderation, resolve)
    return app
