"""Responses that are not the page they claim to be, and downloads that never became one.

Each case is one log line naming the platform and the URL, and one ``sweep/faults/<kind>`` stat;
nothing half-read reaches the spider as if it were whole:

- **binary as HTML** — PNG, ZIP, PDF, executables … (magic numbers) or control bytes, whatever
  the Content-Type says: dropped (``binary``);
- **truncated** — an HTML page without the end tags this platform's pages have, or a body
  shorter than its Content-Length (``dataloss``; DOWNLOAD_FAIL_ON_DATALOSS is off so the partial
  body arrives here instead of failing anonymously): retried SWEEP_TRUNCATED_RETRY_TIMES times
  (``truncated``), then a list page keeps the links it has (``truncated_kept``) and any other
  page — a listing, a thread page — is dropped (``truncated_dropped``): a listing cut off
  mid-description is never stored as if it were whole;
- **malformed HTML** — mismatched or unfinished tags: passed on, and counted where the page is
  parsed anyway (the page object's one parse, ``ProfileSpider.page``: ``malformed_html``); a
  lenient parser still finds the fields, and a listing left with none is dropped by the
  validate pipeline (``sweep/items_invalid``). Logged at WARNING once per crawl, then DEBUG;
- **too large** — Scrapy cancels a download past DOWNLOAD_MAXSIZE (``too_large``);
- **timeout** — no complete response within DOWNLOAD_TIMEOUT, e.g. a server that stalls
  mid-body (``timeout``, each attempt; RetryMiddleware retries).

Rendered pages (scrapy-playwright) are the browser's business: see browser_retry. A request with
meta ``dont_check_content`` is passed through unchecked.

Settings read: SWEEP_TRUNCATED_RETRY_TIMES, DOWNLOAD_MAXSIZE, DOWNLOAD_TIMEOUT.
"""
from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest

logger = logging.getLogger(__name__)

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP archive"), (b"PK\x05\x06", "a ZIP archive"),
    (b"%PDF-", "a PDF document"), (b"\x1f\x8b\x08", "gzip data"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"), (b"\x7fELF", "an ELF executable"), (b"MZ\x90\x00", "a Windows executable"),
    (b"\x00\x00\x01\x00", "an icon"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"), (b"\x1aE\xdf\xa3", "WebM video"),
    (b"wOFF", "a web font"), (b"wOF2", "a web font"), (b"\xca\xfe\xba\xbe", "a Java class"),
    (b"dex\n", "an Android DEX file"),
]
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Bytes no text page contains (tab, newlines, form feed and ESC — ISO-2022 — excluded).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
def binary_kind(body: bytes, content_type: str = "") -> str | None:
    """What binary content this body is (e.g. "a PNG image"), or None for text."""
    head = body[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "RIFF media"
    if head[4:8] == b"ftyp":
        return "MP4 media"
    if head.startswith(_BOMS) or "utf-16" in content_type or "utf-32" in content_type:
        return None
    control = len(head) - len(head.translate(None, _CONTROL))
    if b"\x00" in head or control > len(head) * 0.05:
        return "binary data"
    return None


class BadContentMiddleware:
    def __init__(self, stats, truncated_retry_times: int, maxsize: int, timeout: float):
        self.stats = stats
        self.truncated_retry_times = truncated_retry_times
        self.maxsize = maxsize
        self.timeout = timeout
        self.pages_close = False      # this platform's pages end with </body> or </html>

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        mw = cls(crawler.stats, s.getint("SWEEP_TRUNCATED_RETRY_TIMES", 1), s.getint("DOWNLOAD_MAXSIZE"),
                 s.getfloat("DOWNLOAD_TIMEOUT"))
        mw.crawler = crawler
        return mw

    def _platform(self) -> str:
        profile = getattr(self.crawler.spider, "profile", None)
        return getattr(profile, "name", None) or getattr(self.crawler.spider, "name", "-")

    def process_response(self, request, response):
        if "playwright" in response.flags or not response.body or request.meta.get("dont_check_content"):
            return response
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
        what = binary_kind(response.body, ctype)
        if what:
            self.stats.inc_value("sweep/faults/binary")
            logger.warning("%s: %s is %s served as %s (%d bytes); dropped", self._platform(), response.url, what,
                           ctype or "no Content-Type", len(response.body))
            raise IgnoreRequest(f"{what} served as {ctype or 'no Content-Type'}")
        html = "html" in ctype or (not ctype and response.body.lstrip()[:1] == b"<")
        if "dataloss" in response.flags:
            return self._truncated(request, response, html, f"{len(response.body)} bytes of a longer body")
        if not html:
            return response
        tail = response.body[-65536:].lower()
        if b"</html" in tail or b"</body" in tail:
            self.pages_close = True
        elif self.pages_close:
            return self._truncated(request, response, html, "no </body> or </html>")
        return response

    def _truncated(self, request, response, html: bool, why: str):
        self.stats.inc_value("sweep/faults/truncated")
        retry = get_retry_request(request, spider=self.crawler.spider, reason="truncated",
                                  max_retry_times=self.truncated_retry_times, give_up_log_level=logging.DEBUG)
        if retry is not None:
            logger.info("%s: %s is truncated (%s); retrying", self._platform(), response.url, why)
            return retry
        if html and request.meta.get("list_page"):
            self.stats.inc_value("sweep/faults/truncated_kept")
            logger.warning("%s: %s is truncated (%s); a list page: keeping the links it has", self._platform(),
                           response.url, why)
            return response.replace(flags=[*response.flags, "truncated"])
        self.stats.inc_value("sweep/faults/truncated_dropped")
        logger.warning("%s: %s is truncated (%s); dropped rather than stored half-written", self._platform(),
                       response.url, why)
        raise IgnoreRequest(f"truncated response ({why})")

    def process_exception(self, request, exception):
        if isinstance(exception, DownloadCancelledError):
            # Scrapy cancels a download only when it outgrows the size limit (a timeout is its own error).
            limit = request.meta.get("download_maxsize", self.maxsize)
            self.stats.inc_value("sweep/faults/too_large")
            logger.warning("%s: %s is larger than the %d MB size limit (DOWNLOAD_MAXSIZE); not downloaded",
                           self._platform(), request.url, limit // (1024 * 1024))
        elif isinstance(exception, DownloadTimeoutError):
            self.stats.inc_value("sweep/faults/timeout")
            logger.warning("%s: %s: no complete response within %gs (DOWNLOAD_TIMEOUT): %s", self._platform(),
                           request.url, request.meta.get("download_timeout", self.timeout), exception)
        return None
