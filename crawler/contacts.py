"""Contact handles and download entities sellers leave in listing text.

Handles: QQ, QQ groups, WeChat, Telegram (names and t.me links), phone numbers. Download
entities: cloud-drive (网盘) links (the link
identifies the upload; the 提取码 given with it is only its password, not kept), and the file names of released
binaries (``HSN_Pro_v3.2.apk``). These are what connect one listing to the next across
platforms, so they are stored as contacts and linked (takedown/relist.py, the review page).

Sellers dodge filters here too (扣扣, 企鹅, 🐧, 薇, V, vx, 飞机, ✈; "扣 扣", "V ❤", "t点me",
full-width or spaced digits), so :func:`unmask` undoes the common disguises first; the cue
words stay broad and the handle patterns strict, to keep false matches rare.
"""
from __future__ import annotations

import re
import unicodedata

# Decorations sellers put between a cue word and its handle (hearts, stars, arrows, emoji variation selectors).
_DECOR = "❤♥♡💗💕💖⭐★☆✨👉➡→\ufe0f\u200b\u200c\u200d"
_SEP = rf"[\s:：=＝\-—_~～是号為为加+{_DECOR}]*"
_QQ_GROUP = re.compile(rf"(?:qq群|q群|扣扣群|扣群|企鹅群|群号|交流群|售后群){_SEP}((?:\d[\s\-]?){{5,11}})", re.I)
_QQ = re.compile(rf"(?:qq|扣扣|抠抠|企鹅|🐧|q号){_SEP}((?:\d[\s\-]?){{5,11}})", re.I)
_WECHAT = re.compile(rf"(?:微信|威信|薇信|徽信|薇|vx|wx|v信|weixin|wechat|\bv){_SEP}([a-z][a-z0-9_\-]{{5,19}})", re.I)
_TELEGRAM = re.compile(rf"(?:telegram|tg|飞机|纸飞机|电报|✈){_SEP}@?([a-z][a-z0-9_]{{4,31}})", re.I)
_TME = re.compile(r"(?<![\w.])(?:https?://)?(?:t|telegram)\.me/(?:s/)?@?([a-z][a-z0-9_]{4,31})\b", re.I)
_AT_HANDLE = re.compile(r"(?<![\w.])@([a-z][a-z0-9_]{4,31})\b", re.I)
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4})(?!\d)")
# Cloud drives: a link whose host names a drive (pan., lanzou, drive, 123pan …) and a share path.
_DRIVE = re.compile(r"(?<![\w.-])(?:https?://)?((?:[a-z0-9-]+\.)*(?:pan|yun|lanzou[a-z]*|[a-z]*drive|123pan|wenshushu|"
                    r"cowtransfer|disk)(?:\.[a-z0-9-]+)+/[A-Za-z0-9_/\-]{3,80})", re.I)
# Released binaries: ASCII names only (a CJK run would swallow the sentence before the name).
_FILE = re.compile(r"(?<![A-Za-z0-9_./-])"
                   r"([A-Za-z0-9][A-Za-z0-9_.+\-]{2,60}\.(?:apk|exe|msi|zip|rar|7z|dmg|ipa|deb|jar))"
                   r"(?![A-Za-z0-9_.])", re.I)
# Names every project could ship: linking listings by them would link strangers.
_GENERIC_FILES = {"setup", "install", "installer", "app", "app-release", "app-debug", "release", "update",
                  "readme", "main", "demo", "config", "source", "src", "docs", "test", "tools", "windows",
                  "linux", "macos", "android", "win64", "win32", "x64", "x86", "arm64", "latest", "download"}

# "扣 扣", "微 信", "Q 群": spaces inside a cue word.
_SPACED_CUE = re.compile(r"(扣|抠|微|薇|威|徽|企|飞|电|[qQ])\s+(扣|抠|信|鹅|机|报|[qQ]|群)")
# "t点me", "pan 点 example 点 com", "t[.]me", "t(dot)me": a written-out dot between letters.
_WRITTEN_DOT = re.compile(r"(?<=[a-z0-9])\s*(?:点|點|。|\[\.\]|\(\.\)|\[dot\]|\(dot\)|\sdot\s)\s*(?=[a-z0-9])", re.I)
_CN_DIGITS = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
_CN_RUN = re.compile(r"[零〇一二三四五六七八九幺]{5,}")


def unmask(text: str) -> str:
    """Text with the usual disguises of handles undone (full-width → ASCII by NFKC, "扣 扣" → "扣扣",
    "t点me" → "t.me", a run of Chinese numerals → digits); other text is left as it was."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACED_CUE.sub(r"\1\2", text)
    text = _WRITTEN_DOT.sub(".", text)
    return _CN_RUN.sub(lambda m: m.group().translate(_CN_DIGITS), text)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def file_name(value: str) -> str | None:
    """A released binary's name as stored (lower case), or None for a name anyone could ship."""
    name = value.strip().lower()
    stem = re.sub(r"[-_.]*v?\d+(?:\.\d+)*$", "", name.rsplit(".", 1)[0])
    return None if not stem or stem in _GENERIC_FILES else name


def find_contacts(text: str) -> list[dict]:
    """Distinct handles and download entities in order of kind, as {"type", "value"} with values
    normalised. Types: qq, qq_group, wechat, telegram, phone, netdisk, file."""
    text = unmask(text)
    found: dict[tuple[str, str], None] = {}
    group_spans = []
    for m in _QQ_GROUP.finditer(text):
        digits = _digits(m.group(1))
        if 5 <= len(digits) <= 11:
            found[("qq_group", digits)] = None
            group_spans.append(m.span(1))
    for m in _QQ.finditer(text):
        digits = _digits(m.group(1))
        if 5 <= len(digits) <= 11 and m.span(1) not in group_spans:
            found[("qq", digits)] = None
    for m in _WECHAT.finditer(text):
        found[("wechat", m.group(1).lower())] = None
    for m in _TELEGRAM.finditer(text):
        found[("telegram", m.group(1).lower())] = None
    for m in _TME.finditer(text):
        found[("telegram", m.group(1).lower())] = None
    for m in _AT_HANDLE.finditer(text):
        found.setdefault(("telegram", m.group(1).lower()), None)
    for m in _PHONE.finditer(text):
        found[("phone", _digits(m.group(1)))] = None
    for m in _DRIVE.finditer(text):
        host, _, path = m.group(1).partition("/")
        found[("netdisk", f"{host.lower()}/{path.rstrip('/')}")] = None
    for m in _FILE.finditer(text):
        name = file_name(m.group(1))
        if name:
            found[("file", name)] = None
    return [{"type": t, "value": v} for t, v in found]

