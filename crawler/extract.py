"""Page objects: what a profile's selectors pull out of a list page or a listing page.

Spiders only schedule and follow; everything read from a page happens here, so it can be
tested with saved pages (tests/fixtures/pages/) and their expected JSON.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
from lxml import etree, html
from parsel import Selector, SelectorList
from parsel.csstranslator import css2xpath

from common.clock import SYSTEM

from . import embedded
from .items import Listing
from .profile import Profile

_WS = re.compile(r"\s+")
# A line break the page really shows (<br>, a newline inside JSON text) is carried through the
# whitespace folding as this private-use character, then becomes "\n" again: reviewers read a
# post's lines as written, and the classifier segments at them. Newlines in HTML source are
# only whitespace, so they fold as before.
BREAK = "\ue000"
_BREAKS = re.compile(f"\\s*{BREAK}[\\s{BREAK}]*")     # a run of breaks: one line break, or a blank line
LIST_FIELDS = ("images", "replies", "posts", "topics", "files")
# Kind-specific fields a profile may select; they are kept in the listing's ``extra``.
EXTRA_FIELDS = ("developer", "version", "downloads", "replies", "posts", "topics", "stars", "files")
# ``header:Link[rel=next]``: the URLs of an RFC 8288 Link header with that rel (GitHub-style API paging).
HEADER_SPEC = re.compile(r"([A-Za-z0-9-]+)(?:\[rel=([\w-]+)\])?")
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")


def _lines(text: str) -> str:
    """Whitespace folded to single spaces, the page's own line breaks kept as newlines."""
    return _BREAKS.sub(lambda m: "\n\n" if m.group().count(BREAK) > 1 else "\n", _WS.sub(" ", text)).strip()


def _as_specs(spec) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec or [])


def _node_text(sel: Selector) -> str:
    if isinstance(sel.root, str):
        return sel.root
    return "".join(sel.xpath(".//text()").getall())


# libxml2's structural errors; unknown (HTML5) tags and encoding complaints are not malformation.
_STRUCTURAL = {"ERR_TAG_NAME_MISMATCH", "ERR_TAG_NOT_FINISHED", "ERR_NAME_REQUIRED", "ERR_GT_REQUIRED",
               "ERR_LTSLASH_REQUIRED", "ERR_ATTRIBUTE_NOT_STARTED", "ERR_ATTRIBUTE_WITHOUT_VALUE",
               "ERR_LT_IN_ATTRIBUTE", "ERR_COMMENT_NOT_FINISHED", "ERR_DOCUMENT_END"}


def parse_html(text: str, base_url: str | None = None) -> tuple[etree._Element, list[str]]:
    """The tree parsel would build from ``text`` (same input, same lenient parser), and libxml2's
    complaints about its tag structure (empty for sound markup) — from the one parse."""
    parser = html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)     # parsel's: HtmlElement.drop_tree
    body = text.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    root = etree.fromstring(body, parser=parser, base_url=base_url)
    errors = [f"line {e.line}: {e.message}" for e in parser.error_log if e.type_name in _STRUCTURAL]
    if root is None:
        root = etree.fromstring(b"<html/>", parser=parser, base_url=base_url)
    for br in root.iter("br"):
        br.tail = BREAK + (br.tail or "")
    return root, errors


_TEXT = etree.XPath(".//text()", smart_strings=False)
_compiled: dict[str, etree.XPath | None] = {}


def compiled(how: str, expr: str) -> etree.XPath | None:
    """A profile selector compiled once to lxml XPath (None: leave it to parsel).

    Parsel translates and wraps every match in a Selector on every call — about a tenth of the
    crawl process's time; the profile's selectors never change, so they are compiled once and
    run on the parsed tree directly, with the same results.
    """
    key = f"{how}:{expr}"
    if key not in _compiled:
        try:
            _compiled[key] = etree.XPath(css2xpath(expr) if how == "css" else expr, smart_strings=False)
        except Exception:            # parsel's own extensions (has-class…) or a selector lxml refuses
            _compiled[key] = None
    return _compiled[key]


def _texts(found) -> list[str]:
    if not isinstance(found, list):                      # count(), boolean(): one value, as parsel gives it
        found = [found]
    return [("".join(_TEXT(v)) if isinstance(v, etree._Element) else str(v)) for v in found]


def name_seller_id(name: str) -> str:
    """A seller id for platforms that show a seller's name but link to no seller page.

    Classifieds, app markets and most forums print a name only; keeping it (the store prefixes
    the platform) lets per-seller review, report bundling and relists by seller work there too.
    Derived from the name as shown, so the same name on the same platform is the same seller.
    """
    return "name-" + hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:16]


class Page:
    """A response seen through a profile: HTML via css/xpath, JSON via jmespath."""

    def __init__(self, url: str, text: str, profile: Profile, content_type: str = "text/html",
                 headers: dict[str, list[str]] | None = None):
        self.url = url
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.profile = profile
        self.text = text
        self.is_json = "json" in content_type or text.lstrip()[:1] in ("{", "[")
        self._json = None
        self._selector = None
        self.on_malformed = None       # called with the structural errors, if any, when the page is parsed

    @classmethod
    def from_response(cls, response, profile: Profile) -> Page:
        ctype = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()}
        return cls(response.url, response.text, profile, ctype, headers)

    @property
    def selector(self) -> Selector:
        if self._selector is None:
            root, errors = parse_html(self.text, self.url)
            self._selector = Selector(root=root, type="html")
            if errors and self.on_malformed is not None:
                self.on_malformed(errors)
        return self._selector

    embedded_key = "listing"     # which profile section's ``embedded`` names this page's data blob

    @property
    def data(self):
        """The page's JSON: the body of a JSON response, or the blob an HTML page embeds (``embedded``)."""
        if self._json is None:
            self._json = json.loads(self.text) if self.is_json else self._embedded()
        return self._json

    def _embedded(self):
        spec = getattr(self.profile, self.embedded_key).get("embedded")
        if not spec:
            return None
        try:
            if spec.startswith(("css:", "xpath:")):
                return embedded.parse_literal("".join(self.values(spec)).strip())
            return embedded.parse_literal(embedded.assigned_literal(self.text, spec))
        except embedded.EmbeddedDataError:
            return {}              # its fields come back empty: validation and the monitors count that

    def values(self, spec) -> list[str]:
        """Every string a selector (or list of selectors) yields on this page, in order."""
        out: list[str] = []
        for one in _as_specs(spec):
            how, _, expr = one.partition(":")
            if how == "header":
                out.extend(self.header_values(expr))
            elif how == "jmes":
                if self.data is None:
                    continue
                found = jmespath.search(expr, self.data)
                items = found if isinstance(found, list) else [found]
                out.extend(str(v).replace("\n", BREAK) for v in items if v is not None)
            elif not self.is_json:
                xpath = compiled(how, expr)
                if xpath is not None:
                    try:
                        out.extend(_texts(xpath(self.selector.root)))
                        continue
                    except etree.XPathError:
                        _compiled[f"{how}:{expr}"] = None
                result: SelectorList = self.selector.css(expr) if how == "css" else self.selector.xpath(expr)
                out.extend(_node_text(s) for s in result)
        return out

    def header_values(self, expr: str) -> list[str]:
        """``Name``: the header's values; ``Link[rel=next]``: the URLs a Link header gives that rel."""
        m = HEADER_SPEC.fullmatch(expr)
        values = self.headers.get(m.group(1).lower(), []) if m else []
        if not m or not m.group(2):
            return values
        urls = []
        for value in values:
            for url, params in _LINK.findall(value):
                rels = re.search(r"""rel\s*=\s*"?([^";]+)"?""", params)
                if rels and m.group(2) in rels.group(1).split():
                    urls.append(url)
        return urls

    def matches(self, spec) -> bool:
        """Whether the selector selects anything (an empty element counts)."""
        return bool(self.values(spec))

    def urls(self, spec) -> list[str]:
        return [urljoin(self.url, v.strip()) for v in self.values(spec) if v.strip()]


class ListPage(Page):
    """A search result, category or board page: links to listings and to the next page."""

    embedded_key = "list"

    def listing_links(self) -> list[str]:
        return self.urls(self.profile.list["links"])

    def next_links(self) -> list[str]:
        return self.urls(self.profile.list.get("next")) or self.numbered_next()

    def numbered_next(self) -> list[str]:
        """For ``list.page_param``: this URL with the page number one higher, unless the page says
        it was the last (``total`` items at ``size`` a page). An empty page ends the list too (the
        spider stops on a page without listing links)."""
        spec = self.profile.list.get("page_param")
        if not spec:
            return []
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        current = next((v for k, v in query if k == spec["name"]), None)
        number = int(current) if current and current.isdigit() else spec.get("first", 1)
        total, size = self._number(spec.get("total")), self._number(spec.get("size"))
        if total is not None and size and (number - spec.get("first", 1) + 1) * size >= total:
            return []
        query = [(k, v) for k, v in query if k != spec["name"]] + [(spec["name"], str(number + 1))]
        return [urlunsplit(parts._replace(query=urlencode(query)))]

    def _number(self, spec) -> int | None:
        values = self.values(spec) if spec else []
        try:
            return int(float(values[0]))
        except (IndexError, ValueError):
            return None


class ListingPage(Page):
    """One listing's page (for forums, one page of a thread)."""

    def strip_quotes(self) -> None:
        for spec in _as_specs(self.profile.listing.get("strip")):
            how, _, expr = spec.partition(":")
            (self.selector.css(expr) if how == "css" else self.selector.xpath(expr)).drop()

    def platform_id(self) -> str | None:
        m = self.profile.listing_url_re.search(self.url)
        return m.group("id") if m else None

    def needs_browser(self) -> bool:
        browser = self.profile.listing.get("browser")
        return bool(browser) and self.matches(browser["when"])

    def field(self, name: str) -> str | list[str] | None:
        spec = self.profile.listing["fields"].get(name)
        if spec is None:
            return [] if name in LIST_FIELDS else None
        values = self.values(spec)
        if name in LIST_FIELDS:
            return [v for v in map(_lines, values) if v]
        return _lines(" ".join(values)) or None

    def next_links(self) -> list[str]:
        return self.urls(self.profile.listing.get("next"))

    def to_listing(self, rendered: bool = False, now: datetime | None = None) -> Listing | None:
        """The Listing on this page (crawled ``now``), or None when the URL is not a listing of this profile."""
        pid = self.platform_id()
        if pid is None:
            return None
        self.strip_quotes()
        seller_url = self.field("seller_url")
        seller_url = urljoin(self.url, seller_url) if seller_url else None
        seller_id = None
        if seller_url and self.profile.listing.get("seller_id"):
            m = re.search(self.profile.listing["seller_id"], seller_url)
            seller_id = m.group("id") if m else None
        seller_name = self.field("seller_name")
        if seller_id is None and seller_name:
            seller_id = name_seller_id(seller_name)
        extra = {k: self.field(k) for k in EXTRA_FIELDS if k in self.profile.listing["fields"]}
        return Listing(
            id=f"{self.profile.name}:{pid}", platform=self.profile.name, platform_id=pid,
            kind=self.profile.kind, url=self.url, title=self.field("title") or "",
            description=self.field("description") or "", price=self.field("price"),
            seller_name=seller_name, seller_id=seller_id, seller_url=seller_url,
            images=[urljoin(self.url, u) for u in self.field("images")], extra=extra,
            crawled_at=(now or SYSTEM.now()).isoformat(timespec="seconds"), rendered=rendered)
