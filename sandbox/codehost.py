"""码云仓 — a GitHub/Gitee-style code host: repository search (JSON API paged by Link headers, and
HTML), explore pages, repository pages with a rendered README, topics, stars, releases with
attached binaries and a file tree whose config files can be opened.

Bomber repositories keep a config file that *describes* an endpoint list; every domain in it is
a sandbox placeholder (``*.sandbox.test``), and nothing here sends anything. Given the endpoint
host's port (sandbox/server.py), its URLs name that port, so a request to one would be recorded.
"""
from __future__ import annotations

import json
import re
from html import escape

from aiohttp import web

from .catalogue import Catalogue, Row
from .endpointhost import point_urls_here
from .moderation import Moderation
from .web import PAGE_SIZE, add_common_routes, html, matches, moderated, page_of, qs, shell, text_html

SITE = "码云仓"
REPO_URL = re.compile(r"^(?:https?://[^/]+)?/([\w.-]+/[\w.-]+)/?$")
_RESERVED = {"api", "search", "explore", "topics", "report", "admin", "img", "robots.txt"}


def _tree(row: Row) -> list[str]:
    config = [row.extra["config"]["path"]] if row.extra.get("config") else []
    return ["README.md", "LICENSE", *config, "src/main.py"]


def _state(row: Row) -> str:
    """The page's state blob, as single-page apps ship it: a JS object literal, '<' escaped."""
    releases = [{"tag": f"v{n + 1}.0", "assets": [{"name": f}]} for n, f in enumerate(row.extra["files"])]
    blob = json.dumps({"repo": {"full_name": row.pid, "stars": row.extra["stars"], "topics": row.extra["topics"],
                                "releases": releases}}, ensure_ascii=False).replace("<", "\\u003c")
    blob = re.sub(r'"(\w+)":', r"\1:", blob)           # unquoted keys, as a JS literal has them
    return f"<script>window.__REPO_STATE__ = {blob};</script>"


def build(catalogue: Catalogue, moderation: Moderation, endpoint_port: int | None = None) -> web.Application:
    app = web.Application()

    def live(rows):
        return [r for r in rows if moderation.is_live(r)]

    def resolve(target: str) -> Row | None:
        m = REPO_URL.match(target.split("?")[0])
        return catalogue.repos.get(m.group(1) if m else target.partition(":")[2] or target)

    def matching(q: str) -> list[Row]:
        return live(r for r in catalogue.repos.values()
                    if q and matches(q, r.title, r.description, " ".join(r.extra["topics"])))

    def entry(row: Row) -> str:
        return (f'<li class="repo-item"><a class="repo-link" href="/{escape(row.pid)}">{escape(row.pid)}</a> '
                f'<p class="repo-about">{escape(row.extra["about"])}</p>'
                f'<span class="stars">★ {row.extra["stars"]}</span></li>')

    def list_page(title, rows, request, base):
        chunk, page, more = page_of(rows, request)
        items = "\n".join(entry(r) for r in chunk) or '<li class="empty">没有找到仓库</li>'
        pager = f'<a class="next_page" rel="next" href="{base}page={page + 1}">下一页</a>' if more else ""
        return html(shell(f"{title} - {SITE}", f'<h2>{escape(title)}</h2><ul class="repo-list">\n{items}\n</ul>'
                                                f'<div class="pagination">{pager}</div>'))

    async def home(request):
        return html(shell(SITE, f'<h1>{SITE}</h1><form action="/search"><input name="q"></form>'
                                '<a href="/explore">探索</a>'))

    async def search(request):
        q = request.query.get("q", "").strip()
        return list_page(f"搜索：{q}", matching(q), request, f"/search?q={qs(q)}&")

    async def explore(request):
        return list_page("探索仓库", live(catalogue.repos.values()), request, "/explore?")

    async def topic(request):
        name = request.match_info["name"]
        rows = live(r for r in catalogue.repos.values() if name in r.extra["topics"])
        return list_page(f"话题：{name}", rows, request, f"/topics/{qs(name)}?")

    async def api_search(request):
        """GitHub's search API shape: {total_count, items}, the next page only in the Link header."""
        q = request.query.get("q", "").strip()
        rows = matching(q)
        chunk, page, more = page_of(rows, request)
        origin = f"{request.scheme}://{request.host}"
        base = f"{origin}/api/search/repositories?q={qs(q)}&page="
        links = []
        if more:
            links.append(f'<{base}{page + 1}>; rel="next"')
        last = max(1, -(-len(rows) // PAGE_SIZE))
        links.append(f'<{base}{last}>; rel="last"')
        body = {"total_count": len(rows), "incomplete_results": False,
                "items": [{"full_name": r.pid, "html_url": f"{origin}/{r.pid}", "description": r.extra["about"],
                           "stargazers_count": r.extra["stars"], "topics": r.extra["topics"]} for r in chunk]}
        return web.json_response(body, headers={"Link": ", ".join(links)})

    def removed_page(row: Row):
        signal = moderation.signal(row)
        if signal == "gone_404":
            return html(shell("404", '<p class="not-found">Repository not found 仓库不存在</p>'), status=404)
        if signal == "gone_410":
            return html(shell("410", "<p>该仓库已被删除</p>"), status=410)
        if signal == "redirect":
            raise web.HTTPFound(f"/search?q={qs(row.extra['repo'][:6])}")
        if signal:
            return html(shell(SITE, '<div class="repo-blocked"><h2>该仓库因违反社区规范已被屏蔽</h2></div>'))
        return None

    async def repo(request):
        pid = f"{request.match_info['owner']}/{request.match_info['repo']}"
        row = catalogue.repos.get(pid)
        if row is None or request.match_info["owner"] in _RESERVED:
            return html(shell("404", '<p class="not-found">Repository not found 仓库不存在</p>'), status=404)
        gone = removed_page(row)
        if gone is not None:
            return gone
        x = row.extra
        topics = "".join(f'<a class="topic" href="/topics/{qs(t)}">{escape(t)}</a>' for t in x["topics"])
        tree = "".join(f'<li><a class="tree-file" href="/{escape(row.pid)}/blob/main/{escape(f)}">{escape(f)}</a></li>'
                       for f in _tree(row))
        assets = "".join(f'<li class="release"><span class="tag">v{n + 1}.0</span> '
                         f'<a class="asset" href="/{escape(row.pid)}/releases/download/v{n + 1}.0/{escape(f)}">'
                         f'{escape(f)}</a></li>'
                         for n, f in enumerate(x["files"])) or '<li class="empty">暂无发行版</li>'
        body = (f'<div class="repo-head" data-repo="{escape(row.pid)}">'
                f'<h1 class="repo-title"><a class="owner" href="/{escape(row.seller_id)}">'
                f'{escape(row.seller_id)}</a> / '
                f'<strong class="repo-name">{escape(x["repo"])}</strong></h1>'
                f'<p class="about">{escape(x["about"])}</p><div class="topics">{topics}</div>'
                f'<span class="stars">★ <em>{x["stars"]}</em></span></div>'
                f'<ul class="tree">{tree}</ul>'
                f'<article class="markdown-body" id="readme">{text_html(row.description)}</article>'
                f'<h3>发行版</h3><ul class="releases">{assets}</ul>'
                f'<a class="report" href="/report?url=/{escape(row.pid)}">举报</a>{_state(row)}')
        return html(shell(f"{row.pid}: {x['about']} - {SITE}", body))

    async def blob(request):
        pid = f"{request.match_info['owner']}/{request.match_info['repo']}"
        row = catalogue.repos.get(pid)
        if row is None or not moderation.is_live(row):
            return html(shell("404", "<p>文件不存在</p>"), status=404)
        path = request.match_info["path"]
        config = row.extra.get("config") or {}
        text = config.get("text") if config.get("path") == path else (row.description if path == "README.md" else None)
        if text is None:
            return html(shell(path, '<pre class="blob">（此文件内容未收录）</pre>'))
        if endpoint_port and path != "README.md":
            text = point_urls_here(text, endpoint_port)
        return html(shell(path, f'<pre class="blob">{escape(text)}</pre>'))

    async def download(request):
        # Release binaries are named, never served: the sandbox distributes nothing.
        return web.Response(status=403, text="下载已关闭（沙箱不提供文件）")

    async def owner(request):
        name = request.match_info["owner"]
        rows = live(r for r in catalogue.repos.values() if r.seller_id == name)
        if not rows:
            return html(shell("用户不存在", "<p>用户不存在</p>"), status=404)
        return list_page(f"{name} 的仓库", rows, request, f"/{qs(name)}?")

    app.middlewares.append(moderated(moderation))
    app.router.add_get("/", home)
    app.router.add_get("/search", search)
    app.router.add_get("/explore", explore)
    app.router.add_get("/topics/{name}", topic)
    app.router.add_get("/api/search/repositories", api_search)
    add_common_routes(app, "codehost", moderation, resolve)
    app.router.add_get("/{owner}/{repo}/blob/main/{path:.+}", blob)
    app.router.add_get("/{owner}/{repo}/releases/download/{tag}/{name}", download)
    app.router.add_get("/{owner:[\\w.-]+}/{repo:[\\w.-]+}", repo)
    app.router.add_get("/{owner:[\\w.-]+}", owner)
    return app
