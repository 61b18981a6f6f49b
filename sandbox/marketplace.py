"""闲趣集市 — a Taobao/Xianyu-style marketplace: search, categories, item and shop pages."""
from __future__ import annotations

import re
from html import escape

from aiohttp import web

from .catalogue import MARKET_CATEGORIES, Catalogue, Row
from .moderation import Moderation
from .web import add_common_routes, html, matches, moderated, page_of, qs, shell, text_html

SITE = "闲趣集市"
ITEM_URL = re.compile(r"/item/(\d+)")
# Like many platforms, the search box refuses some well-known words exactly as typed (搜索结果未予显示)
# while spaced, pinyin, traditional or homophone spellings go through: what `sweep audit-search` measures.
# (Deliberately not every keyword: a blocklist is never complete, and crawls still search the rest.)
SEARCH_BLOCKED = frozenset({"电话轰炸", "短信轰炸", "轰炸机", "改号软件", "任意显号", "语音网关", "goip", "落地网关"})


def _card(row: Row) -> str:
    return (f'<div class="item-card" data-id="{row.pid}"><a class="item-link" href="/item/{row.pid}">'
            f'{escape(row.title)}</a> <span class="price">¥{row.price}</span> '
            f'<a class="shop" href="/shop/{row.seller_id}">{escape(row.seller_name)}</a></div>')


def _list_page(title: str, rows: list[Row], request: web.Request, base: str) -> web.Response:
    chunk, page, more = page_of(rows, request)
    cards = "\n".join(_card(r) for r in chunk) or '<p class="empty">没有找到相关宝贝</p>'
    pager = f'<a class="next" href="{base}page={page + 1}">下一页</a>' if more else ""
    return html(shell(f"{title} - {SITE}", f'<h2>{escape(title)}</h2><div class="search-results">\n{cards}\n</div>'
                                            f'<div class="pager">{pager}</div>'))


def build(catalogue: Catalogue, moderation: Moderation) -> web.Application:
    app = web.Application()

    def live(rows):
        return [r for r in rows if moderation.is_live(r)]

    def resolve(target: str) -> Row | None:
        m = ITEM_URL.search(target)
        pid = m.group(1) if m else target.rpartition(":")[2]
        return catalogue.market.get(pid)

    async def home(request):
        links = "".join(f'<li><a class="cat" href="/category/{slug}">{name}</a></li>'
                        for slug, name in MARKET_CATEGORIES.items())
        return html(shell(SITE, f'<h1>{SITE}</h1><form action="/search"><input name="q"></form><ul>{links}</ul>'))

    async def search(request):
        q = request.query.get("q", "").strip()
        if q.lower() in SEARCH_BLOCKED:
            return html(shell(f"搜索：{q} - {SITE}",
                              '<p class="empty">根据相关法律法规和政策，部分搜索结果未予显示。</p>'))
        rows = live(r for r in catalogue.market.values() if q and matches(q, r.title, r.description))
        return _list_page(f"搜索：{q}", rows, request, f"/search?q={qs(q)}&")

    async def category(request):
        slug = request.match_info["slug"]
        if slug not in MARKET_CATEGORIES:
            raise web.HTTPNotFound()
        rows = live(r for r in catalogue.market.values() if r.category == slug)
        return _list_page(MARKET_CATEGORIES[slug], rows, request, f"/category/{slug}?")

    async def item(request):
        row = catalogue.market.get(request.match_info["pid"])
        if row is None:
            return html(shell("页面不存在", "<p>您访问的页面不存在</p>"), status=404)
        signal = moderation.signal(row)
        if signal == "gone_404":
            return html(shell("页面不存在", "<p>您访问的页面不存在</p>"), status=404)
        if signal == "gone_410":
            return html(shell("宝贝已删除", "<p>该宝贝已被删除</p>"), status=410)
        if signal == "redirect":
            raise web.HTTPFound(f"/search?q={qs(row.title[:4])}")
        if signal in ("soft_removed", "relist"):
            return html(shell(f"{SITE}",
                              '<div class="item-offline"><h2>商品已下架</h2><p>该商品已下架或不存在</p></div>'))
        if row.js_description:   # filled in after load: only a real browser sees it
            desc = ('<div id="desc" class="item-desc" data-render="js">描述加载中…</div>'
                    f'<script>setTimeout(function(){{fetch("/api/item/{row.pid}/desc")'
                    '.then(function(r){return r.json()})'
                    '.then(function(d){var e=document.getElementById("desc");e.innerText=d.description;'
                    'e.className="item-desc loaded";})},50);</script>')
        else:
            desc = f'<div id="desc" class="item-desc">{text_html(row.description)}</div>'
        body = (f'<div class="item-detail" data-item-id="{row.pid}">'
                f'<h1 class="item-title">{escape(row.title)}</h1>'
                f'<div class="item-price">¥<em>{row.price}</em></div>'
                f'<div class="seller">卖家：<a class="seller-link" href="/shop/{row.seller_id}">'
                f'{escape(row.seller_name)}</a></div>'
                f'<div class="gallery"><img class="photo" src="/img/{row.pid}-1.png">'
                f'<img class="photo" src="/img/{row.pid}-2.png"></div>'
                f'{desc}<a class="report" href="/report?url=/item/{row.pid}">举报</a></div>')
        return html(shell(f"{row.title} - {SITE}", body))

    async def item_desc(request):
        row = catalogue.market.get(request.match_info["pid"])
        if row is None or not moderation.is_live(row):
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"description": row.description})

    async def shop(request):
        sid = request.match_info["sid"]
        if sid not in catalogue.sellers:
            return html(shell("店铺不存在", "<p>店铺不存在</p>"), status=404)
        rows = live(r for r in catalogue.market.values() if r.seller_id == sid)
        if not rows:
            return html(shell(SITE, '<div class="shop-closed">该店铺已关闭</div>'))
        return _list_page(f"{catalogue.sellers[sid]} 的店铺", rows, request, f"/shop/{sid}?")

    app.middlewares.append(moderated(moderation))
    app.router.add_get("/", home)
    app.router.add_get("/search", search)
    app.router.add_get("/category/{slug}", category)
    app.router.add_get("/item/{pid:\\d+}", item)
    app.router.add_get("/api/item/{pid:\\d+}/desc", item_desc)
    app.router.add_get("/shop/{sid}", shop)
    add_common_routes(app, "marketplace", moderation, resolve)
    return app
