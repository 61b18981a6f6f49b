"""频道广场 — public channel preview pages in the style of Telegram's ``t.me/s/<channel>``: the
channel's name, about text and pinned post, its posts with dates (some forwarded from other
channels), "load older" by ``?before=<post id>``; a directory and a search numbered by page
(``?page=N``, no next link; the page says how many results there are).
"""
from __future__ import annotations

import re
from html import escape

from aiohttp import web

from .catalogue import Catalogue, Row
from .moderation import Moderation
from .web import PAGE_SIZE, add_common_routes, html, matches, moderated, page_of, shell, text_html

SITE = "频道广场"
POSTS_PER_PAGE = 10
CHANNEL_URL = re.compile(r"/s/(\w+)")


def _post(post: dict) -> str:
    forwarded = (f'<div class="msg-forwarded">Forwarded from <a href="/s/{escape(post["forwarded"])}">'
                 f'{escape(post["forwarded"])}</a></div>') if post.get("forwarded") else ""
    return (f'<div class="msg" data-post="{post["id"]}">{forwarded}'
            f'<div class="msg-text">{text_html(post["text"])}</div>'
            f'<time class="msg-date">{post["date"]}</time></div>')


def build(catalogue: Catalogue, moderation: Moderation) -> web.Application:
    app = web.Application()

    def live(rows):
        return [r for r in rows if moderation.is_live(r)]

    def resolve(target: str) -> Row | None:
        m = CHANNEL_URL.search(target)
        return catalogue.channels.get(m.group(1) if m else target.rpartition(":")[2])

    def list_page(title, rows, request):
        chunk, page, _ = page_of(rows, request)
        cards = "\n".join(f'<div class="channel-card"><a class="channel-link" href="/s/{escape(r.pid)}">'
                          f'{escape(r.title)}</a> <span class="handle">@{escape(r.pid)}</span></div>' for r in chunk)
        return html(shell(f"{title} - {SITE}", (
            f'<h2>{escape(title)}</h2><div class="results" data-total="{len(rows)}" data-size="{PAGE_SIZE}" '
            f'data-page="{page}">\n{cards or "<p class=empty>没有找到频道</p>"}\n</div>')))

    async def home(request):
        return html(shell(SITE, f'<h1>{SITE}</h1><form action="/search"><input name="q"></form>'
                                '<a href="/channels">全部频道</a>'))

    async def directory(request):
        return list_page("全部频道", live(catalogue.channels.values()), request)

    async def search(request):
        q = request.query.get("q", "").strip()
        rows = live(r for r in catalogue.channels.values()
                    if q and matches(q, r.title, r.description, " ".join(p["text"] for p in r.extra["posts"])))
        return list_page(f"搜索：{q}", rows, request)

    async def channel(request):
        row = catalogue.channels.get(request.match_info["name"])
        signal = moderation.signal(row) if row else "gone_404"
        if signal == "gone_404":
            return html(shell("频道不存在", "<p>频道不存在</p>"), status=404)
        if signal == "gone_410":
            return html(shell("频道已删除", "<p>该频道已被删除</p>"), status=410)
        if signal == "redirect":
            raise web.HTTPFound("/channels")
        if signal:
            return html(shell(SITE, '<div class="channel-blocked"><h2>该频道因违反规定已被封禁</h2></div>'))
        posts = row.extra["posts"]
        try:
            before = int(request.query["before"]) if "before" in request.query else None
        except ValueError:
            before = None
        older = [p for p in posts if before is None or p["id"] < before]
        shown = older[-POSTS_PER_PAGE:]
        more = (f'<a class="load-older" href="/s/{escape(row.pid)}?before={shown[0]["id"]}">加载更早的消息</a>'
                if len(older) > len(shown) else "")
        pinned = (f'<br><div class="pinned">{text_html(row.extra["pinned"])}</div>' if row.extra["pinned"] else "")
        body = (f'<div class="channel-info" data-channel="{escape(row.pid)}">'
                f'<h1 class="channel-title">{escape(row.title)}</h1><span class="handle">@{escape(row.pid)}</span>'
                f'<div class="channel-head"><div class="about">{text_html(row.extra["about"])}</div>'
                f'{pinned}</div></div>'
                f'{more}<section class="history">{"".join(_post(p) for p in shown)}</section>'
                f'<a class="report" href="/report?url=/s/{escape(row.pid)}">举报</a>')
        return html(shell(f"{row.title} – {SITE}", body))

    app.middlewares.append(moderated(moderation))
    app.router.add_get("/", home)
    app.router.add_get("/channels", directory)
    app.router.add_get("/search", search)
    app.router.add_get("/s/{name:\\w+}", channel)
    add_common_routes(app, "social", moderation, resolve)
    return app
