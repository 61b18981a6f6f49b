"""闲聊论坛 — a Discuz!-style forum, served in GBK, with multi-page threads and quoted replies."""
from __future__ import annotations

import re
from html import escape

from aiohttp import web

from .catalogue import FORUM_BOARDS, Catalogue, Row
from .moderation import Moderation
from .web import add_common_routes, html, moderated, page_of, shell, text_html

SITE = "闲聊论坛"
CHARSET = "gbk"
POSTS_PER_PAGE = 5
THREAD_URL = re.compile(r"thread-(\d+)-")


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return html(shell(f"{title} - {SITE}", body, charset=CHARSET), status=status, charset=CHARSET)


def _post(pid: str, author: str, name: str, text: str, quote: dict | None, names: dict) -> str:
    quoted = ""
    if quote:
        quoted = (f'<div class="quote"><blockquote><font color="#999999">{escape(names.get(quote["author"], ""))} '
                  f'发表于 2026-11-20</font><br>{escape(quote["text"])}</blockquote></div>')
    return (f'<div id="post_{pid}" class="post"><div class="authi">'
            f'<a class="xw1" href="home.php?mod=space&amp;uid={author}">{escape(name)}</a></div>'
            f'<table><tr><td class="t_f" id="postmessage_{pid}">{quoted}{text_html(text)}</td></tr>'
            f"</table></div>")


def build(catalogue: Catalogue, moderation: Moderation) -> web.Application:
    app = web.Application()
    names = catalogue.sellers

    def resolve(target: str) -> Row | None:
        m = THREAD_URL.search(target)
        return catalogue.threads.get(m.group(1) if m else target.rpartition(":")[2])

    async def forum_php(request):
        mod = request.query.get("mod")
        if mod == "forumdisplay":
            return forumdisplay(request)
        links = "".join(f'<li><a class="board" href="forum.php?mod=forumdisplay&amp;fid={fid}">{name}</a></li>'
                        for fid, name in FORUM_BOARDS.items())
        return _page("首页", f"<h1>{SITE}</h1><ul>{links}</ul>")

    def forumdisplay(request):
        try:
            fid = int(request.query.get("fid", ""))
        except ValueError:
            fid = -1
        if fid not in FORUM_BOARDS:
            return _page("提示信息", '<div class="alert_error">指定的版块不存在</div>', status=404)
        rows = [r for r in catalogue.threads.values() if r.category == str(fid) and moderation.is_live(r)]
        rows.sort(key=lambda r: int(r.pid), reverse=True)
        chunk, page, more = page_of(rows, request)
        items = "\n".join(
            f'<tbody id="normalthread_{r.pid}"><tr><th><a href="thread-{r.pid}-1-1.html" class="s xst">'
            f'{escape(r.title)}</a></th><td class="by"><cite><a href="home.php?mod=space&amp;uid={r.author}">'
            f'{escape(names[r.author])}</a></cite></td><td class="num">{len(r.replies)}</td></tr></tbody>'
            for r in chunk)
        pager = (f'<a class="nxt" href="forum.php?mod=forumdisplay&amp;fid={fid}&amp;page={page + 1}">下一页</a>'
                 if more else "")
        return _page(FORUM_BOARDS[fid], f'<h2>{FORUM_BOARDS[fid]}</h2><table id="threadlisttableid">{items}</table>'
                                        f'<div class="pg">{pager}</div>')

    async def thread(request):
        tid, page = request.match_info["tid"], int(request.match_info["page"])
        row = catalogue.threads.get(tid)
        signal = moderation.signal(row) if row else "gone_404"
        if signal == "gone_404":
            return _page("提示信息", '<div class="alert_error">抱歉，指定的主题不存在或已被删除或正在被审核</div>', 404)
        if signal == "gone_410":
            return _page("提示信息", '<div class="alert_error">该主题已被删除</div>', 410)
        if signal == "redirect":
            raise web.HTTPFound(f"forum.php?mod=forumdisplay&fid={row.category}")
        if signal:
            return _page("提示信息", '<div class="alert_error">该帖子已被删除</div>')
        posts = [(f"{tid}0", row.author, row.description, None)] + [
            (f"{tid}{i + 1}", r["author"], r["text"], r["quote"]) for i, r in enumerate(row.replies)]
        pages = max(1, -(-len(posts) // POSTS_PER_PAGE))
        if page > pages:
            return _page("提示信息", '<div class="alert_error">指定的页码不存在</div>', 404)
        chunk = posts[(page - 1) * POSTS_PER_PAGE: page * POSTS_PER_PAGE]
        html_posts = "\n".join(_post(pid, a, names.get(a, a), text, quote, names) for pid, a, text, quote in chunk)
        pager = f'<a class="nxt" href="thread-{tid}-{page + 1}-1.html">下一页</a>' if page < pages else ""
        body = (f'<h1><span id="thread_subject">{escape(row.title)}</span></h1>'
                f'<div id="postlist" data-tid="{tid}" data-fid="{row.category}">{html_posts}</div>'
                f'<div class="pg"><span class="pages">{page}/{pages}</span>{pager}</div>'
                f'<a class="report" href="/report?url=thread-{tid}-1-1.html">举报</a>')
        return _page(row.title, body)

    async def space(request):
        uid = request.query.get("uid", "")
        if uid not in names:
            return _page("提示信息", '<div class="alert_error">抱歉，您指定的用户空间不存在</div>', 404)
        rows = [r for r in catalogue.threads.values() if r.author == uid and moderation.is_live(r)]
        items = "".join(f'<li><a href="thread-{r.pid}-1-1.html">{escape(r.title)}</a></li>' for r in rows)
        return _page(names[uid], f'<h2 class="username">{escape(names[uid])}</h2><ul class="threads">{items}</ul>')

    app.middlewares.append(moderated(moderation))
    app.router.add_get("/", forum_php)
    app.router.add_get("/forum.php", forum_php)
    app.router.add_get("/thread-{tid:\\d+}-{page:\\d+}-1.html", thread)
    app.router.add_get("/home.php", space)
    add_common_routes(app, "forum", moderation, resolve)
    return app
