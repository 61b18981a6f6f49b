"""Listings (and platform records) on Redis as JSON, read back only if they match the schema.

A listing travels twice: from a worker to `sweep ingest` (``<prefix>:items``) and, for a forum
thread spanning pages, in the meta of the request for its next page. Either way the fields are
the Listing's crawl fields with their types; unknown keys, wrong types or kinds are rejected
(:class:`~.wire.Rejected`). ``status``, ``version`` and ``classification`` are set by ingest's own
stages; a worker sends them at their starting values (older workers always did) or not at all.
"""
from __future__ import annotations

from dataclasses import fields

from ..items import Listing
from ..profile import KINDS as PROFILE_KINDS
from .wire import Rejected, compile_schema, dump, load

_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STR}
KINDS = list(PROFILE_KINDS)

LISTING_SCHEMA = {
    "type": "object",
    "required": ["id", "platform", "platform_id", "kind", "url"],
    "additionalProperties": False,
    "properties": {
        "id": _STR, "platform": _STR, "platform_id": _STR, "kind": {"enum": KINDS}, "url": _STR,
        "title": _STR, "description": _STR, "price": {"type": ["number", "string", "null"]},
        "price_text": _OPT_STR, "currency": _OPT_STR, "price_unit": _OPT_STR,
        "seller_name": _OPT_STR, "seller_id": _OPT_STR, "seller_url": _OPT_STR,
        "contacts": {"type": "array", "items": {"type": "object", "required": ["type", "value"],
                                                "additionalProperties": False,
                                                "properties": {"type": _STR, "value": _STR}}},
        "images": _STRINGS,
        "extra": {"type": "object", "additionalProperties": False,
                  "properties": {"developer": _OPT_STR, "version": _OPT_STR, "downloads": _OPT_STR,
                                 "stars": _OPT_STR, "replies": _STRINGS, "posts": _STRINGS, "topics": _STRINGS,
                                 "files": _STRINGS,
                                 # listing.attachments: files kept with the listing (a repository's configs)
                                 "attachments": {"type": "array", "maxItems": 20, "items": {
                                     "type": "object", "required": ["url", "text"], "additionalProperties": False,
                                     "properties": {"url": _STR, "path": _STR, "text": _STR}}}}},
        "crawled_at": _STR, "content_hash": _STR, "rendered": {"type": "boolean"},
        "status": {"const": "new"}, "version": {"const": 1}, "classification": {"type": "null"},
    },
}
PLATFORM_SCHEMA = {
    "type": "object",
    "required": ["name", "kind", "base_url"],
    "additionalProperties": False,
    "properties": {"name": _STR, "kind": {"enum": KINDS}, "base_url": _STR, "path": _STR,
                   "enabled": {"type": "boolean"}},
}
_check_listing = compile_schema(LISTING_SCHEMA)
_check_platform = compile_schema(PLATFORM_SCHEMA)
_CRAWL_FIELDS = [f.name for f in fields(Listing) if f.name not in ("status", "version", "classification")]


def listing_dict(item: Listing) -> dict:
    """The crawl fields of ``item``, as plain JSON values (a Listing holds nothing else)."""
    d = {name: getattr(item, name) for name in _CRAWL_FIELDS}
    d["contacts"] = [dict(c) for c in item.contacts]
    d["images"], d["extra"] = list(item.images), dict(item.extra)
    return d


def listing_from_dict(d) -> Listing:
    if not isinstance(d, dict):
        raise Rejected("bad_type", "a listing must be an object")
    d = _check_listing(d)
    return Listing(**{name: d[name] for name in _CRAWL_FIELDS if name in d})


def encode_listing(item: Listing) -> bytes:
    return dump(listing_dict(item))


def decode_listing(data: bytes) -> Listing:
    return listing_from_dict(load(data))


def decode_platform(name: str, data: bytes) -> dict:
    """A platform record of ``<prefix>:platforms`` (written by workers) for the store."""
    record = _check_platform(load(data))
    if record["name"] != name:
        raise Rejected("bad_value", f"platform record {name!r} names {record['name']!r}")
    return {"path": "", "enabled": True, **record}
