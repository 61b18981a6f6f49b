"""Fault mode: pages that break crawlers, shaped like each platform's own pages.

Off by default; ``python -m sandbox --faults`` (or ``SandboxProcess(faults=True)``) adds
``/faults/...`` routes to every platform. Each fault serves a copy of a catalogue row under a
fault id (990000 + the fault's index), in the platform's own listing markup, so a profile's
selectors apply unchanged:

- ``/faults/<kind>/item/<id>`` (marketplace), ``/faults/<kind>/app/<id>`` (app store),
  ``/faults/<kind>/thread-<id>-1-1.html`` (forum) — a listing page with the fault;
- ``/faults/<kind>/list`` — a list page with the fault, linking to ``?normal=N`` (3) real listings;
- ``/faults/list?kinds=a,b&lists=c,d&normal=N&js=M`` — a clean list page linking to the fault
  listings ``kinds``, to N real listings (and M real marketplace listings that need the browser),
  and (as next pages) to the faulty list pages ``lists``.

:func:`fault_row` tells tests what each fault listing should yield when it is read correctly.
"""
from __future__ import annotations

import asyncio
import functools
import io
import re
import zipfile
import zlib
from dataclasses import replace
from html import escape

from aiohttp import web

from .catalogue import Catalogue, Row
from .web import shell, text_html

FAULT_BASE_ID = 990000
# Every platform: markup, charset, size, binary, redirect and stalling faults.
KINDS = ["malformed", "truncated", "cut-off", "gbk-no-charset", "gb18030-no-charset", "big5-no-charset",
         "gbk-as-utf8", "huge", "huge-declared", "binary-png", "binary-zip", "redirect-loop", "redirect-chain",
         "stall"]
# Marketplace only (its profile renders `div#desc[data-render=js]` pages in Chromium).
BROWSER_KINDS = ["hang-tab", "hang-after-load", "crash-tab", "crash-once"]
HUGE_BYTES = 50 * 1024 * 1024
STALL_SECONDS = 120.0          # ?seconds= overrides; the handler also stops when the client hangs up
NO_CHARSET = {"gbk-no-charset": "gbk", "gb18030-no-charset": "gb18030", "big5-no-charset": "big5"}
PLATFORM_CHARSET = {"marketplace": "utf-8", "appstore": "utf-8", "forum": "gbk"}
_META_CHARSET = re.compile(r'<meta charset="[^"]*">')
_PLACEHOLDER = "描述加载中…"
# Runaway allocation: Chromium kills the tab once V8's heap limit is reached ("Aw, Snap!").
_HOG = "var hog=[];while(true){hog.push(new Array(1e6).fill(1.5))}"


def _table(catalogue: Catalogue, platform: str) -> dict[str, Row]:
    return {"marketplace": catalogue.market, "appstore": catalogue.apps, "forum": catalogue.threads}[platform]


def _eligible(catalogue: Catalogue, platform: str) -> list[Row]:
    """Rows whose text is long enough for charset detection and that plain HTTP shows whole."""
    return sorted((r for r in _table(catalogue, platform).values()
                   if not r.js_description and len(r.description) >= 40), key=lambda r: int(r.pid))


@functools.lru_cache(maxsize=1)
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t").convert


def _traditional(text: str | None) -> str | None:
    return _to_traditional()(text) if text else text


def fault_pid(kind: str) -> str:
    """The platform id of fault ``kind``'s listing (the same on every platform)."""
    return str(FAULT_BASE_ID + (KINDS + BROWSER_KINDS).index(kind))


def fault_row(catalogue: Catalogue, platform: str, kind: str) -> Row:
    """The row a fault listing serves (id, and for Big5 traditional characters, as served)."""
    pid = fault_pid(kind)
    row = replace(_eligible(catalogue, platform)[int(pid) - FAULT_BASE_ID], pid=pid, key=f"{platform}:{pid}")
    if kind == "big5-no-charset":   # a Big5 page is written in traditional characters
        row = replace(row, title=_traditional(row.title), description=_traditional(row.description),
                      seller_name=_traditional(row.seller_name), developer=_traditional(row.developer))
    return row


def normal_rows(catalogue: Catalogue, platform: str, n: int, offset: int = 0) -> list[Row]:
    """Real listings (their own ids) that fault list pages link to."""
    rows = _eligible(catalogue, platform)[100 + offset:]
    return rows[:n]


def js_rows(catalogue: Catalogue, n: int) -> list[Row]:
    """Real marketplace listings whose description only a browser sees (the index's ``?js=N``)."""
    return sorted((r for r in catalogue.market.values() if r.js_description), key=lambda r: int(r.pid))[:n]


def list_rows(catalogue: Catalogue, platform: str, kind: str, n: int = 3) -> list[Row]:
    """The real listings the faulty list page ``/faults/<kind>/list`` links to."""
    return normal_rows(catalogue, platform, n, 3 * ((KINDS + BROWSER_KINDS).index(kind) + 1))


def listing_path(platform: str, kind: str, pid: str) -> str:
    tail = {"marketplace": f"item/{pid}", "appstore": f"app/{pid}", "forum": f"thread-{pid}-1-1.html"}[platform]
    return f"/faults/{kind}/{tail}"


def real_path(platform: str, pid: str) -> str:
    return {"marketplace": f"/item/{pid}", "appstore": f"/app/{pid}", "forum": f"/thread-{pid}-1-1.html"}[platform]


# -- the platforms' own markup -----------------------------------------------------------------
def _listing_html(platform: str, row: Row, names: dict, desc_html: str | None = None) -> str:
    desc = text_html(row.description)
    if platform == "marketplace":
        desc_html = desc_html or f'<div id="desc" class="item-desc">{desc}</div>'
        body = (f'<div class="item-detail" data-item-id="{row.pid}"><h1 class="item-title">{escape(row.title)}</h1>'
                f'<div class="item-price">¥<em>{row.price}</em></div>'
                f'<div class="seller">卖家：<a class="seller-link" href="/shop/{row.seller_id}">'
                f'{escape(row.seller_name)}</a></div>'
                f'<div class="gallery"><img class="photo" src="/img/{row.pid}-1.png">'
                f'<img class="photo" src="/img/{row.pid}-2.png"></div>{desc_html}</div>')
        return shell(f"{row.title} - 闲趣集市", body)
    if platform == "appstore":
        body = (f'<div class="app-detail" data-app-id="{row.pid}"><img class="icon" src="/img/app-{row.pid}.png">'
                f'<h1 class="app-name">{escape(row.title)}</h1>'
                f'<p>开发者：<a class="developer" href="/developer/{row.seller_id}">'
                f'{escape(row.developer or "")}</a></p>'
                f'<p>版本：<span class="version">{row.version}</span> '
                f'下载：<span class="downloads">{row.downloads}</span>次</p>'
                f'<div class="app-desc">{desc}</div></div>')
        return shell(f"{row.title} - 应用汇", body)
    from .forum import _post

    posts = [(f"{row.pid}0", row.author, row.description, None)] + [
        (f"{row.pid}{i + 1}", r["author"], r["text"], r["quote"]) for i, r in enumerate(row.replies)]
    html_posts = "\n".join(_post(pid, a, names.get(a, a), text, quote, names) for pid, a, text, quote in posts)
    body = (f'<h1><span id="thread_subject">{escape(row.title)}</span></h1>'
            f'<div id="postlist" data-tid="{row.pid}">{html_posts}</div>'
            '<div class="pg"><span class="pages">1/1</span></div>')
    return shell(f"{row.title} - 闲聊论坛", body, charset="gbk")


def _list_html(platform: str, title: str, links: list[tuple[str, str]], nexts: list[str]) -> str:
    if platform == "marketplace":
        cards = "\n".join(f'<div class="item-card"><a class="item-link" href="{u}">{escape(t)}</a></div>'
                          for u, t in links)
        pager = "".join(f'<a class="next" href="{u}">下一页</a>' for u in nexts)
        return shell(title, f'<h2>{escape(title)}</h2><div class="search-results">\n{cards}\n</div>'
                            f'<div class="pager">{pager}</div>')
    if platform == "appstore":
        items = "\n".join(f'<li class="app"><a class="app-link" href="{u}">{escape(t)}</a></li>' for u, t in links)
        pager = "".join(f'<a class="next" href="{u}">下一页</a>' for u in nexts)
        return shell(title, f'<h2>{escape(title)}</h2><ul class="app-list">\n{items}\n</ul>'
                            f'<div class="pager">{pager}</div>')
    items = "\n".join(f'<tbody id="normalthread_{n}"><tr><th><a href="{u}" class="s xst">{escape(t)}</a></th>'
                      '</tr></tbody>' for n, (u, t) in enumerate(links))
    pager = "".join(f'<a class="nxt" href="{u}">下一页</a>' for u in nexts)
    return shell(title, f'<h2>{escape(title)}</h2><table id="threadlisttableid">{items}</table>'
                        f'<div class="pg">{pager}</div>', charset="gbk")


# -- how each fault is served ---------------------------------------------------------------------
def _malformed(doc: str) -> str:
    """Broken the way hand-written templates break; a lenient parser still finds every field."""
    doc = doc.replace("</h1>", "</h2></span>", 1).replace("</em>", "</b>")
    doc = re.sub(r'class="([\w-]+)"', r"class=\1", doc)                       # unquoted attributes
    doc = doc.replace("</a></div>", "</a>", 1).replace("</p>", "")          # unclosed elements
    doc = doc.replace("<body>", "<body><div><table><tr><td>stray < and & here</div></td>", 1)
    return doc


def _truncate(doc: str, row: Row) -> str:
    """Cut in the middle of the description: the page looks fine but ends early."""
    desc = text_html(row.description)
    at = doc.find(desc)
    return doc[: at + len(desc) // 2] if at >= 0 else doc[: len(doc) // 2]


def _html(body: bytes, content_type: str, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": content_type})


async def _stream(request: web.Request, content_type: str, parts, length: int | None = None,
                  hang_up: bool = False) -> web.StreamResponse:
    """Send ``parts`` (bytes or a number of seconds to stall) as they come: bounded memory."""
    resp = web.StreamResponse(headers={"Content-Type": content_type})
    if length is not None:
        resp.content_length = length
    await resp.prepare(request)
    loop = asyncio.get_running_loop()
    try:
        for part in parts:
            if isinstance(part, bytes):
                await resp.write(part)
                continue
            deadline = loop.time() + part                 # stall, until the client gives up
            while loop.time() < deadline and request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.1)
        if hang_up and request.transport is not None:
            request.transport.close()                     # fewer bytes than Content-Length said
    except ConnectionError:                               # the client hung up (size limit, timeout)
        pass
    return resp


def _png(size: int = 64) -> bytes:
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 13) % 256 for x in range(size * 3)) for y in range(size))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + tag + data + zlib.crc32(tag + data).to_bytes(4, "big")

    header = size.to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("呼死你.apk", bytes(range(256)) * 64),
                           ("readme.html", b"<html><body>not a page</body></html>")):
            z.writestr(zipfile.ZipInfo(name, date_time=(2018, 1, 1, 0, 0, 0)), data)   # same bytes every run
    return out.getvalue()


async def serve_fault(request: web.Request, platform: str, kind: str, doc: str, row: Row | None) -> web.StreamResponse:
    """Serve ``doc`` (a page of ``platform`` in its own charset) with fault ``kind``."""
    charset = PLATFORM_CHARSET[platform]
    ctype = f"text/html; charset={charset}"
    body = doc.encode(charset, errors="xmlcharrefreplace")
    if kind == "malformed":
        return _html(_malformed(doc).encode(charset, errors="xmlcharrefreplace"), ctype)
    if kind == "truncated":
        cut = _truncate(doc, row) if row else doc[: len(doc) * 2 // 3]
        return _html(cut.encode(charset, errors="xmlcharrefreplace"), ctype)
    if kind == "cut-off":
        return await _stream(request, ctype, [body[: len(body) // 2]], length=len(body), hang_up=True)
    if kind in NO_CHARSET:
        enc = NO_CHARSET[kind]
        text = _META_CHARSET.sub("", _traditional(doc) if enc == "big5" else doc)
        return _html(text.encode(enc, errors="xmlcharrefreplace"), "text/html")
    if kind == "gbk-as-utf8":         # a template that says UTF-8 around text stored as GBK
        text = _META_CHARSET.sub('<meta charset="utf-8">', doc)
        return _html(text.encode("gbk", errors="xmlcharrefreplace"), "text/html; charset=utf-8")
    if kind in ("huge", "huge-declared"):
        at = body.rfind(b"</body>")
        head, tail = body[:at] + b'<div class="padding" hidden>', b"</div>" + body[at:]
        block = (b"<p>" + b"0123456789abcdef" * 63 + b"9</p>\n") * 64        # 64 KiB
        n = (HUGE_BYTES - len(head) - len(tail)) // len(block)
        length = len(head) + n * len(block) + len(tail)
        return await _stream(request, ctype, [head, *(block for _ in range(n)), tail],
                             length=length if kind == "huge-declared" else None)
    if kind == "binary-png":
        return _html(_png(), "text/html")
    if kind == "binary-zip":
        return _html(_zip(), "text/html; charset=utf-8")
    if kind == "stall":
        seconds = float(request.query.get("seconds", STALL_SECONDS))
        return await _stream(request, ctype, [body[: len(body) // 2], seconds, body[len(body) // 2:]],
                             length=len(body))
    raise web.HTTPNotFound()


def add_fault_routes(app: web.Application, platform: str, catalogue: Catalogue) -> None:
    kinds = KINDS + (BROWSER_KINDS if platform == "marketplace" else [])
    names = catalogue.sellers
    renders: dict[str, int] = {}       # crash-once: fault id -> times the browser asked

    def links_to(rows: list[Row]) -> list[tuple[str, str]]:
        return [(real_path(platform, r.pid), r.title) for r in rows]

    async def index(request):
        want = [k for k in request.query.get("kinds", ",".join(kinds)).split(",") if k]
        lists = [k for k in request.query.get("lists", "").split(",") if k]
        unknown = [k for k in want + lists if k not in kinds]
        if unknown:
            raise web.HTTPNotFound(text=f"no fault {', '.join(unknown)}")
        n = int(request.query.get("normal", "3"))
        links = [(listing_path(platform, k, fault_pid(k)), k) for k in want]
        links += links_to(normal_rows(catalogue, platform, n))
        links += links_to(js_rows(catalogue, int(request.query.get("js", "0"))))      # marketplace only
        doc = _list_html(platform, "故障页面", links, [f"/faults/{k}/list" for k in lists])
        return _html(doc.encode(PLATFORM_CHARSET[platform], errors="xmlcharrefreplace"),
                     f"text/html; charset={PLATFORM_CHARSET[platform]}")

    def redirect(request, kind, rest):
        if kind == "redirect-loop":            # a → b → a → …
            other = rest[2:] if rest.startswith("b/") else f"b/{rest}"
            raise web.HTTPFound(f"/faults/{kind}/{other}")
        hop = int(request.query.get("hop", "0"))
        if hop >= 1000:                        # a naive client still stops somewhere
            raise web.HTTPNotFound()
        raise web.HTTPFound(f"/faults/{kind}/{rest}?hop={hop + 1}")

    async def fault(request):
        kind, rest = request.match_info["kind"], request.match_info["rest"]
        if kind not in kinds:
            raise web.HTTPNotFound()
        if kind.startswith("redirect-"):
            redirect(request, kind, rest)
        if rest == "list":
            rows = list_rows(catalogue, platform, kind, int(request.query.get("normal", "3")))
            doc = _list_html(platform, f"故障列表 {kind}", links_to(rows), [])
            return await serve_fault(request, platform, kind, doc, None)
        row = fault_row(catalogue, platform, kind)
        if rest.startswith("render/"):          # crash-once: the page's script asks whether to crash
            renders[row.pid] = renders.get(row.pid, 0) + 1
            return web.json_response({"crash": renders[row.pid] == 1, "description": row.description})
        if rest != listing_path(platform, kind, row.pid).split("/", 3)[3]:
            raise web.HTTPNotFound()
        if kind in BROWSER_KINDS:
            return _html(_browser_page(kind, row, names).encode("utf-8"), "text/html; charset=utf-8")
        return await serve_fault(request, platform, kind, _listing_html(platform, row, names), row)

    app.router.add_get("/faults/list", index)
    app.router.add_get("/faults/{kind}/{rest:.+}", fault)


def _browser_page(kind: str, row: Row, names: dict) -> str:
    """A marketplace item whose description needs the browser, and whose script breaks the tab."""
    script = {
        "hang-tab": "while(true){}",                                        # load never fires
        "hang-after-load": 'addEventListener("load",function(){setTimeout(function(){while(true){}},0)});',
        "crash-tab": _HOG,
        "crash-once": (f'var x=new XMLHttpRequest();x.open("GET","/faults/crash-once/render/{row.pid}",false);x.send();'
                       f'var d=JSON.parse(x.responseText);if(d.crash){{{_HOG}}}'
                       'var e=document.getElementById("desc");e.innerText=d.description;'
                       'e.className="item-desc loaded";'),
    }[kind]
    desc = f'<div id="desc" class="item-desc" data-render="js">{_PLACEHOLDER}</div><script>{script}</script>'
    return _listing_html("marketplace", row, names, desc_html=desc)
