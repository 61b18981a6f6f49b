"""One decision per listing: the model's label and score, the bank matches, and the configured
decision for each kind of match.

    [check]
    block_score = 0.9          # flagged by the model with at least this score → block (below: review)
    [check.decisions]          # per match type: allow | review | block
    contact = "block"          # a confirmed listing's QQ/WeChat/Telegram/phone
    link = "block"             # a confirmed listing's download link
    seller = "review"          # a seller account with a confirmed listing (sellers also sell benign things)
    signature = "block"        # near-duplicate text of a confirmed listing (a relist reworded as benign)
    domain = "review"          # a shared abused/distribution domain
    imported = "review"        # the most an imported indicator (another party's) can decide on its own

The strictest decision wins. Input is checked field by field (:func:`validate`); a bad listing
is an :class:`InvalidListing` naming the field, never a partial decision.
"""
from __future__ import annotations

import math

from crawler.profile import KINDS as PROFILE_KINDS

from precheck.banks import LOCAL, Banks

ORDER = {"allow": 0, "review": 1, "block": 2}
DEFAULT_DECISIONS = {"contact": "block", "link": "block", "seller": "review", "signature": "block",
                     "domain": "review", "imported": "review"}
KINDS = (*PROFILE_KINDS, "")
MAX_TEXT = 20_000
_STR_FIELDS = {"title": 1_000, "description": MAX_TEXT, "seller": 200, "platform": 100, "kind": 20, "id": 200}


class InvalidListing(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def validate(raw) -> dict:
    """A clean listing dict from untrusted JSON, or InvalidListing."""
    if not isinstance(raw, dict):
        raise InvalidListing("listing", "must be a JSON object")
    unknown = set(raw) - {*_STR_FIELDS, "price", "contacts", "links"}
    if unknown:
        raise InvalidListing(sorted(unknown)[0], "unknown field")
    out: dict = {}
    for name, limit in _STR_FIELDS.items():
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidListing(name, "must be a string")
        if len(value) > limit:
            raise InvalidListing(name, f"longer than {limit} characters")
        out[name] = value
    if not out.get("title", "").strip() and not out.get("description", "").strip():
        raise InvalidListing("title", "a title or a description is required")
    if out.get("kind", "") not in KINDS:
        raise InvalidListing("kind", f"must be one of {', '.join(k for k in KINDS if k)}")
    price = raw.get("price")
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, (int, float, str)):
            raise InvalidListing("price", "must be a number or a string")
        if isinstance(price, float) and not math.isfinite(price):
            raise InvalidListing("price", "must be finite")
        if isinstance(price, str) and len(price) > 100:
            raise InvalidListing("price", "longer than 100 characters")
        out["price"] = price
    for name, limit in (("contacts", 50), ("links", 50)):
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) > limit:
            raise InvalidListing(name, f"must be a list of at most {limit} strings")
        for item in value:
            if not isinstance(item, str) or len(item) > 2_000:
                raise InvalidListing(name, "every entry must be a string of at most 2,000 characters")
        out[name] = value
    return out


class Checker:
    """Model + banks → decisions. ``classifier`` is a classifier.predict.Classifier."""

    def __init__(self, classifier, banks: Banks, decisions: dict | None = None, block_score: float = 0.9):
        self.classifier, self.banks = classifier, banks
        self.decisions = {**DEFAULT_DECISIONS, **(decisions or {})}
        bad = {k: v for k, v in self.decisions.items() if v not in ORDER}
        if bad:
            raise ValueError(f"[check.decisions]: {bad} — each must be allow, review or block")
        self.block_score = block_score

    def _for_match(self, match: dict) -> str:
        decision = self.decisions.get(match["type"], "review")
        if match.get("source", LOCAL) != LOCAL and ORDER[decision] > ORDER[self.decisions["imported"]]:
            decision = self.decisions["imported"]          # another party's word alone never blocks harder
        return decision

    def check(self, listings: list[dict]) -> list[dict]:
        """Decisions for validated listings, in order."""
        results = self.classifier.predict(listings, explain_top=4, explain_benign=False)
        out = []
        for listing, r in zip(listings, results):
            decision = "allow"
            if r["flagged"]:
                decision = "block" if r["score"] >= self.block_score else "review"
            matches = self.banks.match(listing)
            for m in matches:
                m["decision"] = self._for_match(m)
                if ORDER[m["decision"]] > ORDER[decision]:
                    decision = m["decision"]
            reasons = [{"feature": e.get("feature"), "spans": e.get("spans", [])} for e in r["explanation"]]
            out.append({**({"id": listing["id"]} if "id" in listing else {}), "decision": decision,
                        "label": r["label"], "score": r["score"], "reasons": reasons, "matches": matches,
                        "model_version": r["model_version"]})
        return out
