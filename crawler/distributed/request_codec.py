"""Requests on the shared queue as JSON: what a request may carry, and nothing else.

scrapy-redis pickles requests (``SCHEDULER_SERIALIZER = picklecompat``): anyone able to write to
Redis could run code on every worker. Here a request is a JSON object of REQUEST_SCHEMA — URL,
method, headers, body (base64), priority, dont_filter, the names of its callback and errback,
and meta limited to the keys of META_SCHEMA with their types. A name is looked up on the spider
only if the spider lists it in ``REQUEST_CALLBACKS``; the one dotted path scrapy-playwright would
import from meta must be Sweep's own; page methods are limited to waiting. Values that are not
JSON travel in a known shape: bytes as base64, a forum thread's Listing as its fields
(:mod:`.listing_codec`), PageMethods as ``{"method", "args", "kwargs"}``.

A request that cannot be put in this shape (a cookie, a meta key outside the list, a lambda
callback) raises :class:`Unencodable`; the scheduler keeps it in that worker's memory.
"""
from __future__ import annotations

import base64
import binascii

from scrapy.utils.request import request_from_dict

from ..items import Listing
from ..browser import PREPARE
from ..middlewares.browser_retry import WATCH
from ..scheduler.durable import request_to_dict
from .listing_codec import listing_dict, listing_from_dict
from .wire import Rejected, compile_schema, dump, load

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_B64 = {"type": "string"}           # base64, checked as it is decoded

META_SCHEMA = {
    # the spiders' own (crawler/spiders/)
    "download_slot": _STR, "list_page": _INT, "seed": _STR, "seed_kind": {"enum": ["search", "pages"]},
    "more_page": _INT, "listing": {"type": "object"},      # checked by listing_codec
    "attachments_left": {"type": "array", "items": _STR, "maxItems": 20},     # listing.attachments still to read
    "playwright": _BOOL,
    "playwright_page_methods": {"type": "array", "items": {
        "type": "object", "required": ["method"], "additionalProperties": False,
        "properties": {"method": {"enum": ["wait_for_selector"]}, "args": {"type": "array", "items": _STR},
                       "kwargs": {"type": "object", "additionalProperties": False,
                                  "properties": {"timeout": _NUM, "state": _STR}}}}},
    "playwright_page_goto_kwargs": {"type": "object", "additionalProperties": False, "properties": {
        "timeout": _NUM, "wait_until": {"enum": ["load", "domcontentloaded", "networkidle", "commit"]}}},
    "browser_fallback": {"type": ["object", "null"], "required": ["body", "encoding", "content_type"],
                         "additionalProperties": False,
                         "properties": {"body": _B64, "encoding": _STR, "content_type": _STR}},
    # crawler/middlewares/browser_retry.py; scrapy-playwright imports this dotted path: only ours
    "browser_deadline": _NUM, "browser_retries": _INT, "playwright_page_init_callback": {"enum": [PREPARE, WATCH]},
    # scrapy-playwright's, on a retried rendered page
    "playwright_context": {"const": "default"}, "playwright_suggested_filename": _STR,
    "playwright_security_details": {"type": ["object", "null"],
                                    "additionalProperties": {"type": ["string", "number", "null"]}},
    # Scrapy's, on retries and redirects
    "retry_times": _INT, "redirect_times": _INT, "redirect_ttl": _INT,
    "redirect_urls": {"type": "array", "items": _STR},
    "redirect_reasons": {"type": "array", "items": {"type": ["integer", "string"]}},
    "download_timeout": _NUM, "download_latency": _NUM, "depth": _INT, "is_start_request": _BOOL,
}
REQUEST_SCHEMA = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "maxLength": 8192},
        "method": {"enum": ["GET", "HEAD", "POST"]},
        "headers": {"type": "object", "additionalProperties": {"type": "array", "items": _STR}},
        "body": _B64,
        "meta": {"type": "object", "additionalProperties": False, "properties": META_SCHEMA},
        "callback": {"type": ["string", "null"]}, "errback": {"type": ["string", "null"]},
        "priority": _INT, "dont_filter": _BOOL,
    },
}
_check = compile_schema(REQUEST_SCHEMA)


class Unencodable(ValueError):
    """The request holds something the queue format does not carry."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise Rejected("bad_value", f"not base64: {exc}") from None


class RequestCodec:
    """Encode and decode the requests of one spider."""

    def __init__(self, spider):
        self.spider = spider
        self.callbacks = frozenset(getattr(spider, "REQUEST_CALLBACKS", ()))

    # -- to Redis --------------------------------------------------------------------------------
    def encode(self, request) -> bytes:
        try:
            d = request_to_dict(request, self.spider)
        except ValueError as exc:                 # a callback that is not a spider method
            raise Unencodable(str(exc)) from None
        for attr in ("cookies", "flags", "cb_kwargs"):
            if d.get(attr):
                raise Unencodable(f"{attr} are not carried")
        if "_class" in d or d.get("encoding", "utf-8") != "utf-8":
            raise Unencodable(f"a {d.get('_class', 'Request')} encoded {d.get('encoding')}")
        out = {"url": d["url"], "method": d["method"], "priority": d["priority"], "dont_filter": d["dont_filter"],
               "callback": d["callback"], "errback": d["errback"],
               "headers": {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in d["headers"].items()},
               "meta": {k: self._encode_meta(k, v) for k, v in d["meta"].items()}}
        if d["body"]:
            out["body"] = _b64(d["body"])
        for name in (out["callback"], out["errback"]):
            if name is not None and name not in self.callbacks:
                raise Unencodable(f"{name!r} is not in {type(self.spider).__name__}.REQUEST_CALLBACKS")
        try:
            _check(out)
        except Rejected as exc:
            raise Unencodable(str(exc)) from None
        return dump(out)

    @staticmethod
    def _encode_meta(key, value):
        if key == "listing" and isinstance(value, Listing):
            return listing_dict(value)
        if key == "playwright_page_methods" and isinstance(value, (list, tuple)):
            return [{"method": m.method, "args": list(m.args), "kwargs": dict(m.kwargs)} for m in value]
        if key == "browser_fallback" and isinstance(value, dict) and isinstance(value.get("body"), bytes):
            return {**value, "body": _b64(value["body"])}
        return value

    # -- from Redis ------------------------------------------------------------------------------
    def decode(self, data: bytes):
        """The request in ``data``; :class:`~.wire.Rejected` if it is anything but a valid one."""
        d = _check(load(data))
        for attr in ("callback", "errback"):
            name = d.get(attr)
            if name is not None and name not in self.callbacks:
                raise Rejected("unknown_callback", f"{attr} {name[:80]!r} is not one of the spider's")
        meta = d.get("meta", {})
        if "listing" in meta:
            meta["listing"] = listing_from_dict(meta["listing"])
        if "playwright_page_methods" in meta:
            from scrapy_playwright.page import PageMethod

            meta["playwright_page_methods"] = [PageMethod(m["method"], *m.get("args", ()), **m.get("kwargs", {}))
                                               for m in meta["playwright_page_methods"]]
        if meta.get("browser_fallback"):
            meta["browser_fallback"] = {**meta["browser_fallback"], "body": _unb64(meta["browser_fallback"]["body"])}
        d["body"] = _unb64(d.get("body", ""))
        d["meta"] = meta
        try:
            return request_from_dict(d, spider=self.spider)
        except (ValueError, TypeError) as exc:      # e.g. a URL Scrapy refuses
            raise Rejected("bad_value", str(exc)[:200]) from None
