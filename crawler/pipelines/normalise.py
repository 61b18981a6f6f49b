"""Tidy fields into their stored shape: text, price, contacts and the content hash."""
from __future__ import annotations

import hashlib
import json
import re
from ..contacts import find_contacts
from ..items import Listing
from ..price import parse_price

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_WS = re.compile(r"[ \t\r\f\v\u3000\xa0]+")


def tidy(text: str | None) -> str:
    text = _CONTROL.sub("", text or "")
    text = text.encode("utf-8", "replace").decode("utf-8")      # lone surrogates
    return _WS.sub(" ", text).strip()


def content_hash(item: Listing) -> str:
    """What makes a new version: the words and the price a reviewer would see."""
    payload = json.dumps([item.title, item.description, item.price, item.seller_id], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class NormalisePipeline:
    def process_item(self, item: Listing):
        item.title = tidy(item.title)
        item.description = tidy(item.description)
        item.seller_name = tidy(item.seller_name) or None
        # A listing normalised before (by a worker, read back by ingest) is read from the price it showed.
        price = parse_price(item.price_text if item.price_text is not None else item.price)
        item.price, item.price_text = (price.amount, price.text) if price else (None, None)
        item.currency, item.price_unit = (price.currency, price.unit) if price else (None, None)
        for name in ("replies", "posts"):
            if name in item.extra:
                item.extra[name] = [tidy(r) for r in item.extra[name] if tidy(r)]
        # Handles and download entities are read from everything the listing shows: a channel's
        # posts, a thread's replies, a repository's release file names.
        text = "\n".join([item.title, item.description, *item.extra.get("replies", []), *item.extra.get("posts", []),
                          *item.extra.get("files", [])])
        item.contacts = find_contacts(text)
        item.content_hash = content_hash(item)
        return item
