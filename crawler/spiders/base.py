"""ProfileSpider: seeds → list pages → listing pages, all selectors from one site profile."""
from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlsplit

import scrapy
from scrapy.http import Response

from common.clock import SYSTEM, shifted

from ..extract import ListingPage, ListPage, Page
from ..profile import PROFILE_DIR, Profile, load_profiles


def launch_options(settings) -> dict:
    """PLAYWRIGHT_LAUNCH_OPTIONS with Chromium sandboxed where this machine allows it (outbound/chromium.py):
    the configured options and extra args, the sandbox decision's executable and args."""
    from outbound.chromium import launch

    chosen = launch(settings.get("SWEEP_BROWSER_USER") or "nobody",
                    settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("executable_path") or "/usr/bin/chromium")
    configured = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    extra = [a for a in configured.get("args", []) if a not in chosen.args and a != "--no-sandbox"]
    options = {**configured, **chosen.playwright_options()}
    options["args"] = [*chosen.args, *extra]
    return options


class ProfileSpider(scrapy.Spider):
    """Crawl one platform described by a profile.

    Spider arguments (``scrapy crawl ecommerce -a profile=marketplace``):
    ``profile`` (name; default: the one enabled profile of this kind), ``profiles_dir``,
    ``base_url`` (point the profile elsewhere, e.g. the sandbox on another port),
    ``keywords`` (comma-separated, replaces the keyword list).
    Settings read: SWEEP_PROFILES_DIR, SWEEP_BASE_URLS ({profile: url}), SWEEP_RENDER, SWEEP_BROWSER_USER.
    """

    kind = ""
    # The only methods a request read back from a shared queue may name (crawler/distributed/).
    REQUEST_CALLBACKS = frozenset({"parse_list", "parse_listing", "on_error", "on_browser_error",
                                   "parse_attachment", "attachment_failed"})

    def __init__(self, profile: str | None = None, profiles_dir: str | None = None, base_url: str | None = None,
                 keywords: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile_name = profile
        self.profiles_dir = profiles_dir
        self.base_url = base_url
        self.keyword_override = [k for k in (keywords or "").split(",") if k.strip()] or None
        self._malformed_logged = False
        self.clock = SYSTEM           # from_crawler moves it for `--now` (SWEEP_CLOCK_OFFSET)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        directory = spider.profiles_dir or settings.get("SWEEP_PROFILES_DIR") or PROFILE_DIR
        names = [spider.profile_name] if spider.profile_name else None
        profiles = [p for p in load_profiles(directory, names) if p.kind == cls.kind]
        if len(profiles) != 1:
            found = ", ".join(p.name for p in profiles) or "none"
            raise ValueError(f"spider {cls.name!r} needs exactly one {cls.kind} profile (-a profile=NAME); "
                             f"found: {found}")
        profile = profiles[0]
        base = spider.base_url or (settings.getdict("SWEEP_BASE_URLS") or {}).get(profile.name)
        spider.profile = profile.rebase(base) if base else profile
        spider.clock = shifted(settings.getfloat("SWEEP_CLOCK_OFFSET"))     # `--now`: listings stamped on it
        spider.allowed_domains = list(spider.profile.allowed_hosts)
        cls.apply_profile_settings(spider.profile, settings)
        spider.browser_sandboxed = None        # recorded in the run's stats when the crawl starts
        if spider.profile.listing.get("browser") and settings.getbool("SWEEP_RENDER"):
            spider.browser_sandboxed = bool(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("chromium_sandbox"))
        return spider

    @staticmethod
    def apply_profile_settings(profile: Profile, settings) -> None:
        """Per-platform politeness as a download slot; Playwright only where the profile renders."""
        politeness = profile.politeness
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        slots[profile.name] = {"concurrency": politeness.get("concurrency", 8),
                               "delay": politeness.get("download_delay", 0.0)}
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        # AutoThrottle (on in crawler/settings.py) adapts the delay to the platform's latency, aiming
        # at the profile's concurrency and never going below the profile's delay.
        settings.set("DOWNLOAD_DELAY", politeness.get("download_delay", 0.0), priority="spider")
        settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(politeness.get("concurrency", 8)), priority="spider")
        if profile.listing.get("browser"):       # what a rendered page may fetch: the profile's hosts only
            from ..middlewares.offsite import BrowserRequestFilter

            policy = BrowserRequestFilter(profile, settings.get("PLAYWRIGHT_ABORT_REQUEST"))
            settings.set("PLAYWRIGHT_ABORT_REQUEST", policy, priority="spider")
        if profile.listing.get("browser") and settings.getbool("SWEEP_RENDER"):
            settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch_options(settings), priority="spider")
        if not (profile.listing.get("browser") and settings.getbool("SWEEP_RENDER")):
            # Without this every spider would start its own Playwright driver process.
            base = settings.getdict("DOWNLOAD_HANDLERS_BASE")
            settings.set("DOWNLOAD_HANDLERS", {"http": base["http"], "https": base["https"]}, priority="spider")

    # -- scheduling ----------------------------------------------------------------------
    def request(self, url: str, callback, **meta) -> scrapy.Request:
        meta.setdefault("download_slot", self.profile.name)   # per-platform politeness
        return scrapy.Request(url, callback=callback, meta=meta, errback=self.on_error)

    def seed_urls(self) -> list[str]:
        p: Profile = self.profile
        keywords = self.keyword_override or p.keywords()
        urls = [p.url(t.replace("{keyword}", quote(k))) for t in p.seeds.get("search", []) for k in keywords]
        urls += [p.url(page) for page in p.seeds.get("pages", [])]
        return urls

    async def start(self):
        if self.browser_sandboxed is not None:
            self.crawler.stats.set_value("sweep/browser/sandboxed", int(self.browser_sandboxed))
        n_search = len(self.seed_urls()) - len(self.profile.seeds.get("pages", []))
        for n, url in enumerate(self.seed_urls()):
            seed_kind = "search" if n < n_search else "pages"     # the zero-listings monitor counts per kind
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/seeds/{seed_kind}")
            yield self.request(url, self.parse_list, list_page=1, seed=url, seed_kind=seed_kind)

    def parse_list(self, response: Response):
        page = self.page(ListPage, response)
        links = page.listing_links()
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/list_pages")
        if not links:
            # A search that finds nothing is normal for one keyword; a profile whose selectors
            # match nothing anywhere is a broken profile — monitors compare these counters.
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/empty_list_pages")
        elif response.meta.get("list_page") == 1 and response.meta.get("seed_kind"):
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/seeds_with_links/{response.meta['seed_kind']}")
        for url in links:
            yield self.request(url, self.parse_listing)
        max_pages = self.profile.list.get("max_pages", 1000)
        if links and response.meta["list_page"] < max_pages:
            for url in page.next_links():
                yield self.request(url, self.parse_list, list_page=response.meta["list_page"] + 1,
                                   seed=response.meta.get("seed"))

    def parse_listing(self, response: Response):
        page = self.page(ListingPage, response)
        rendered = bool(response.meta.get("playwright"))
        if not rendered and page.needs_browser():
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/needs_browser")
            if self.settings.getbool("SWEEP_RENDER"):
                yield self.browser_request(response.url, fallback=response)
                return
        listing = page.to_listing(rendered=rendered, now=self.clock.now())
        if listing is None:
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/not_a_listing")
            return
        if not rendered and page.needs_browser():        # its placeholder is what gets stored
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/unrendered")
        yield from self.complete(listing, page, response)

    def complete(self, listing, page, response):
        """Kinds whose listings span several pages override this."""
        yield from self.follow_attachments(listing, page)

    # -- attachments: files the listing links to, kept with it (listing.attachments) ---------------
    def follow_attachments(self, listing, page):
        spec = self.profile.listing.get("attachments")
        if not spec:
            yield listing
            return
        wanted = re.compile(spec["match"])
        urls = list(dict.fromkeys(u for u in page.urls(spec["links"]) if wanted.search(u)))[:spec.get("max", 5)]
        listing.extra["attachments"] = []
        yield from self._next_attachment(listing, urls)

    def _next_attachment(self, listing, urls):
        if not urls:
            yield listing
            return
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/attachments")
        yield self.request(urls[0], self.parse_attachment, listing=listing, attachments_left=urls[1:]).replace(
            errback=self.attachment_failed)     # a method, not a closure: the frontier stores the request

    def parse_attachment(self, response: Response):
        spec = self.profile.listing["attachments"]
        listing = response.meta["listing"]
        text = "\n".join(self.page(Page, response).values(spec.get("text", "css:body")))
        listing.extra["attachments"].append({"url": response.url, "path": urlsplit(response.url).path,
                                             "text": text[:spec.get("max_chars", 20000)]})
        yield from self._next_attachment(listing, response.meta["attachments_left"])

    def attachment_failed(self, failure):
        """An attachment failed: the listing is kept with the files read so far."""
        self.on_error(failure)
        meta = failure.request.meta
        yield from self._next_attachment(meta["listing"], meta["attachments_left"])

    def page(self, cls, response: Response):
        """The page object for ``response``; malformed markup is counted when it is parsed (once)."""
        page = cls.from_response(response, self.profile)
        if not response.meta.get("playwright"):          # the browser's DOM is its own business
            page.on_malformed = lambda errors: self._malformed(response.url, errors)
        return page

    def _malformed(self, url: str, errors: list[str]) -> None:
        self.crawler.stats.inc_value("sweep/faults/malformed_html")
        level = logging.DEBUG if self._malformed_logged else logging.WARNING
        self._malformed_logged = True
        self.logger.log(level, "%s: %s is malformed HTML (%d tag errors, first: %s); reading what a lenient "
                        "parser finds (further malformed pages at DEBUG, counted in sweep/faults/malformed_html)",
                        self.profile.name, url, len(errors), errors[0])

    def browser_request(self, url: str, fallback: Response | None = None) -> scrapy.Request:
        """Render ``url`` in Chromium; ``fallback`` (the plain-HTTP response) is kept if the browser fails."""
        from scrapy_playwright.page import PageMethod

        browser = self.profile.listing["browser"]
        timeout = browser.get("timeout_ms", 15000)
        methods = []
        if browser.get("wait_for"):
            how, _, expr = browser["wait_for"].partition(":")
            selector = expr if how == "css" else f"xpath={expr}"
            methods.append(PageMethod("wait_for_selector", selector, timeout=timeout))
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/browser_pages")
        # Bytes, not the Response, in meta: requests must stay serialisable for a disk/redis frontier.
        saved = fallback and {"body": fallback.body, "encoding": fallback.encoding,
                              "content_type": fallback.headers.get(b"Content-Type", b"").decode("latin-1")}
        req = self.request(url, self.parse_listing, playwright=True, playwright_page_methods=methods,
                           playwright_page_goto_kwargs={"timeout": timeout, "wait_until": "load"},
                           browser_fallback=saved)
        return req.replace(dont_filter=True, errback=self.on_browser_error)

    def on_error(self, failure):
        request = failure.request
        from scrapy.exceptions import IgnoreRequest
        from scrapy.spidermiddlewares.httperror import HttpError

        # Our own policy (allow-list, robots.txt) ignoring a request is not the platform failing.
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/ignored_requests")
            return
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/request_errors")
        self.logger.warning("%s: %s failed: %s", self.profile.name, request.url, failure.getErrorMessage()
                            or failure.type.__name__)

    def on_browser_error(self, failure):
        """The browser gave up on a page (crashed, hung, timed out; see browser_retry): keep what plain
        HTTP gave — the listing without its script-filled parts — rather than lose it."""
        from playwright.async_api import Error as PlaywrightError
        from scrapy.http import HtmlResponse

        if failure.check(PlaywrightError):     # browser_retry has said why, once
            self.crawler.stats.inc_value(f"sweep/{self.profile.name}/request_errors")
        else:
            self.on_error(failure)
        saved = failure.request.meta.get("browser_fallback")
        if not saved:
            return
        response = HtmlResponse(failure.request.url, body=saved["body"], encoding=saved["encoding"],
                                headers={"Content-Type": saved["content_type"]}, request=failure.request)
        page = self.page(ListingPage, response)
        listing = page.to_listing(rendered=False, now=self.clock.now())
        if listing is None:
            return
        self.crawler.stats.inc_value("sweep/faults/browser_fallback")
        self.crawler.stats.inc_value(f"sweep/{self.profile.name}/unrendered")
        self.logger.warning("%s: %s: keeping the plain-HTTP content, without what only the browser shows",
                            self.profile.name, response.url)
        yield from self.complete(listing, page, response)
