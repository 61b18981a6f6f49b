"""Contact handles sellers leave in listing text: QQ, WeChat, Telegram, phone numbers.

Sellers dodge filters here too (扣扣, 企鹅, 🐧, 薇, V, vx, 飞机, ✈), so the cue words are
broad; the handle patterns stay strict to keep false matches rare.
"""
from __future__ import annotations

import re
import unicodedata

_SEP = r"[\s:：=＝\-—_~～是号為为加+]*"
_QQ = re.compile(rf"(?:qq|扣扣|抠抠|企鹅|🐧|q号|ｑｑ){_SEP}((?:\d[\s\-]?){{5,11}})", re.I)
_WECHAT = re.compile(rf"(?:微信|威信|薇信|徽信|薇|vx|wx|v信|weixin|wechat|\bv){_SEP}([a-z][a-z0-9_\-]{{5,19}})", re.I)
_TELEGRAM = re.compile(rf"(?:telegram|tg|飞机|纸飞机|电报|✈️?){_SEP}@?([a-z][a-z0-9_]{{4,31}})", re.I)
_AT_HANDLE = re.compile(r"(?<![\w.])@([a-z][a-z0-9_]{4,31})\b", re.I)
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4})(?!\d)")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def find_contacts(text: str) -> list[dict]:
    """Distinct handles in order of appearance, as {"type", "value"} with values normalised."""
    text = unicodedata.normalize("NFKC", text or "")
    found: dict[tuple[str, str], None] = {}
    for m in _QQ.finditer(text):
        digits = _digits(m.group(1))
        if 5 <= len(digits) <= 11:
            found[("qq", digits)] = None
    for m in _WECHAT.finditer(text):
        found[("wechat", m.group(1).lower())] = None
    for m in _TELEGRAM.finditer(text):
        found[("telegram", m.group(1).lower())] = None
    for m in _AT_HANDLE.finditer(text):
        found.setdefault(("telegram", m.group(1).lower()), None)
    for m in _PHONE.finditer(text):
        found[("phone", _digits(m.group(1)))] = None
    return [{"type": t, "value": v} for t, v in found]
