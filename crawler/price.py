"""Prices as platforms print them: the text kept, the amount, currency and unit read from it.

``¥12,800.00`` is 12800 (a thousands separator, not a decimal comma); ``NT$12,000`` is 12000
Taiwan dollars; ``1.2万`` is 12000; ``¥30/月`` is 30 a month; ``免费`` is free and ``面议`` is
"ask the seller" — values, not missing prices. The shown text is what the classifier reads, from
a crawl and from ``sweep classify`` alike, so both see one representation.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Longest prefixes first: "NT$" before "$", "HK$" before "$".
_CURRENCIES = [("NT$", "TWD"), ("HK$", "HKD"), ("US$", "USD"), ("RMB", "CNY"), ("CNY", "CNY"), ("USD", "USD"),
               ("¥", "CNY"), ("￥", "CNY"), ("元", "CNY"), ("块", "CNY"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"),
               ("円", "JPY")]
_NUMBER = re.compile(r"\d+(?:[,\s]\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?")
_UNIT = re.compile(r"/\s*([^\d\s/]{1,4})\s*$|每\s*([^\d\s]{1,2})\s*$")
_FREE = ("免费", "free", "0元")
_ASK = ("面议", "议价", "私聊", "咨询", "negotiable", "ask")


@dataclass(frozen=True)
class Price:
    text: str                  # as shown, tidied
    amount: float | None       # None when the text names no amount (面议)
    currency: str | None = None
    unit: str | None = None    # what the amount is per: 月, 条, 次, 天 …
    kind: str = "amount"       # amount | free | negotiable | unknown


def parse_price(value) -> Price | None:
    """The price in ``value`` (a shown string, or a number from a JSON API); None when empty."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Price(text=f"{value:g}", amount=float(value))
    text = " ".join(str(value).split())                  # as shown; read through NFKC (￥, full-width digits)
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", text)
    lowered = folded.lower()
    currency = next((code for sign, code in _CURRENCIES if sign.lower() in lowered), None)
    unit_match = _UNIT.search(folded)
    unit = next((g for g in unit_match.groups() if g), None) if unit_match else None
    if unit in ("元", "块"):                # "30元" is a currency, not "per yuan"
        unit = None
    m = _NUMBER.search(folded)
    if m is None:
        if any(word in lowered for word in _FREE):
            return Price(text, 0.0, currency, unit, "free")
        if any(word in lowered for word in _ASK):
            return Price(text, None, currency, unit, "negotiable")
        return Price(text, None, currency, unit, "unknown")
    amount = float(re.sub(r"[,\s]", "", m.group()))
    if folded[m.end():m.end() + 1] == "万":
        amount *= 10_000
    return Price(text, amount, currency, unit, "free" if amount == 0 else "amount")
