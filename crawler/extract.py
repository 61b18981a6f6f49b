"""Page objects: what a profile's selectors pull out of a list page or a listing page.

Spiders only schedule and follow; everything read from a page happens here, so it can be
tested with saved pages (tests/fixtures/pages/) and their expected JSON.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import urljoin

import jmespath
from parsel import Selector, SelectorList

from .items import Listing
from .profile import Profile

_WS = re.compile(r"\s+")
LIST_FIELDS = ("images", "replies")


def _as_specs(spec) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec or [])


def _node_text(sel: Selector) -> str:
    if isinstance(sel.root, str):
        return sel.root
    return "".join(sel.xpath(".//text()").getall())


class Page:
    """A response seen through a profile: HTML via css/xpath, JSON via jmespath."""

    def __init__(self, url: str, text: str, profile: Profile, content_type: str = "text/html"):
        self.url = url
        self.profile = profile
        self.text = text
        self.is_json = "json" in content_type or text.lstrip()[:1] in ("{", "[")
        self._json = None
        self._selector = None

    @classmethod
    def from_response(cls, response, profile: Profile) -> "Page":
        ctype = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        return cls(response.url, response.text, profile, ctype)

    @property
    def selector(self) -> Selector:
        if self._selector is None:
            self._selector = Selector(text=self.text)
        return self._selector

    @property
    def data(self):
        if self._json is None:
            self._json = json.loads(self.text)
        return self._json

    def values(self, spec) -> list[str]:
        """Every string a selector (or list of selectors) yields on this page, in order."""
        out: list[str] = []
        for one in _as_specs(spec):
            how, _, expr = one.partition(":")
            if how == "jmes":
                if not self.is_json:
                    continue
                found = jmespath.search(expr, self.data)
                items = found if isinstance(found, list) else [found]
                out.extend(str(v) for v in items if v is not None)
            elif not self.is_json:
                result: SelectorList = self.selector.css(expr) if how == "css" else self.selector.xpath(expr)
                out.extend(_node_text(s) for s in result)
        return out

    def matches(self, spec) -> bool:
        """Whether the selector selects anything (an empty element counts)."""
        return bool(self.values(spec))

    def urls(self, spec) -> list[str]:
        return [urljoin(self.url, v.strip()) for v in self.values(spec) if v.strip()]


class ListPage(Page):
    """A search result, category or board page: links to listings and to the next page."""

    def listing_links(self) -> list[str]:
        return self.urls(self.profile.list["links"])

    def next_links(self) -> list[str]:
        return self.urls(self.profile.list.get("next"))


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
        values = [_WS.sub(" ", v).strip() for v in self.values(spec)]
        if name in LIST_FIELDS:
            return [v for v in values if v]
        text = " ".join(v for v in values if v)
        return text or None

    def next_links(self) -> list[str]:
        return self.urls(self.profile.listing.get("next"))

    def to_listing(self, rendered: bool = False) -> Listing | None:
        """The Listing on this page, or None when the URL is not a listing of this profile."""
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
        extra = {k: self.field(k) for k in ("developer", "version", "downloads")
                 if k in self.profile.listing["fields"]}
        if "replies" in self.profile.listing["fields"]:
            extra["replies"] = self.field("replies")
        return Listing(
            id=f"{self.profile.name}:{pid}", platform=self.profile.name, platform_id=pid,
            kind=self.profile.kind, url=self.url, title=self.field("title") or "",
            description=self.field("description") or "", price=self.field("price"),
            seller_name=self.field("seller_name"), seller_id=seller_id, seller_url=seller_url,
            images=[urljoin(self.url, u) for u in self.field("images")], extra=extra,
            crawled_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), rendered=rendered)
