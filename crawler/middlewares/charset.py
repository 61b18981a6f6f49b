"""Wrong or missing charsets: decode the page as what it is, not as what it says.

Scrapy trusts the Content-Type header first, so a GBK page served with ``charset=utf-8`` turns
into U+FFFD garbage without a word; and a page that declares nothing is guessed without the
platform's own hint. Here every text response (plain HTTP; rendered pages come decoded by the
browser) is checked once:

- it declares a charset (BOM, header or ``<meta>``) and decodes cleanly with it — left alone;
- the declared charset yields replacement characters, or nothing is declared and the body is
  not UTF-8 — the cleanest of these candidates wins, ties in this order: the page's ``<meta>``
  (when the header was the wrong one), the profile's ``encoding`` hint (unless the bytes plainly
  are another family: Big5 read as GBK decodes "cleanly" into nonsense), charset-normalizer's guess.
  The response is re-decoded with it (``sweep/faults/charset_redecoded``, one log line with
  the platform, the URL, what was declared and what was used);
- nothing decodes cleanly — left as Scrapy decodes it (``sweep/faults/charset_undecodable``).

A body with a BOM, and a request with meta ``dont_fix_charset``, are left alone.

Settings read: SWEEP_CHARSET_MAX_BAD (share of non-ASCII characters that
may come out as U+FFFD before a declared charset counts as wrong).
"""
from __future__ import annotations

import codecs
import logging

from scrapy.http import TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

logger = logging.getLogger(__name__)

# Encodings that read each other's bytes the same way for text a page would hold.
_FAMILIES = [{"gbk", "gb2312", "gb18030", "hz"}, {"big5", "big5hkscs", "cp950"}, {"utf-8", "ascii"},
             {"shift_jis", "cp932"}, {"euc_kr", "cp949"}]


def _norm(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(resolve_encoding(encoding) or encoding).name.replace("-", "_").replace("utf_8", "utf-8")
    except LookupError:
        return None


def _family(encoding: str) -> frozenset:
    name = _norm(encoding) or encoding
    return next((frozenset(f) for f in _FAMILIES if name in f), frozenset({name}))


def bad_share(body: bytes, encoding: str) -> float:
    """Share of the non-ASCII characters that decode to U+FFFD (genuine U+FFFD in UTF-8 excluded)."""
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        return 1.0
    bad = text.count("\ufffd")
    if _norm(encoding) == "utf-8":
        bad -= body.count(b"\xef\xbf\xbd")
    if bad <= 0:
        return 0.0
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return bad / max(non_ascii, 1)


def choose(body: bytes, header: str | None, meta: str | None, hint: str | None,
           max_bad: float) -> tuple[str | None, str]:
    """(encoding to use or None to leave the response alone, why)."""
    declared = header or meta
    if declared and bad_share(body, declared) <= max_bad:
        return None, "declared charset decodes cleanly"
    if not declared and bad_share(body, "utf-8") == 0:
        return None, "undeclared but UTF-8"
    from charset_normalizer import from_bytes

    guess = from_bytes(body).best()
    guessed = guess.encoding if guess else None
    candidates = []
    if header and meta and _norm(meta) != _norm(header):
        candidates.append((meta, "the page's <meta>"))
    if hint and (guessed is None or _family(hint) & _family(guessed)
                 or any(_family(hint) & _family(e) for e in (guess.could_be_from_charset if guess else []))):
        candidates.append((hint, "the profile's encoding"))
    if guessed:
        candidates.append((guessed, "charset-normalizer"))
    scored = [(bad_share(body, enc), n, _norm(enc), why) for n, (enc, why) in enumerate(candidates)
              if _norm(enc) and _norm(enc) != _norm(declared)]
    best = min(scored, default=None)          # the cleanest; among equals, the earliest in the order above
    if best and best[0] <= max_bad:
        return best[2], best[3]
    return None, "undecodable"


class CharsetMiddleware:
    def __init__(self, stats, max_bad: float):
        self.stats = stats
        self.max_bad = max_bad

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler.stats, crawler.settings.getfloat("SWEEP_CHARSET_MAX_BAD", 0.02))
        mw.crawler = crawler
        return mw

    def process_response(self, request, response):
        if not isinstance(response, TextResponse) or "playwright" in response.flags or not response.body:
            return response
        body = response.body
        if read_bom(body)[0] or request.meta.get("dont_fix_charset"):
            return response
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        header = _norm(http_content_type_encoding(ctype))
        meta = _norm(html_body_declared_encoding(body)) if "html" in ctype or not ctype else None
        profile = getattr(self.crawler.spider, "profile", None)
        hint = getattr(profile, "encoding", None)
        encoding, why = choose(body, header, meta, hint, self.max_bad)
        platform = getattr(profile, "name", "-")
        if why == "undecodable":
            self.stats.inc_value("sweep/faults/charset_undecodable")
            logger.warning("%s: %s declares %s and no charset decodes it cleanly; left as decoded (with U+FFFD)",
                           platform, response.url, header or meta or "no charset")
            return response
        if encoding is None:
            return response
        self.stats.inc_value("sweep/faults/charset_redecoded")
        declared = (f"charset={header}" if header else f"<meta charset={meta}>") if header or meta else "no charset"
        logger.warning("%s: %s declares %s but is %s (by %s); re-decoded", platform, response.url, declared,
                       encoding, why)
        return response.replace(encoding=encoding)
