"""Evasive spellings of a search keyword, generated from the normaliser's own tables.

The classifier folds these back (classifier/normalize.py); a platform's search box usually does
not. Each kind comes from what the normaliser undoes:

- ``spacing``     separators it deletes between Chinese characters (its ``_SOFT`` set): 呼 死 你
- ``pinyin``      Latin aliases (data/aliases.tsv) whose canonical term is the keyword: husini, hsn;
                  without one, the keyword's pinyin and initials (pypinyin, as ``phonetic`` reads them)
- ``homophone``   phrase aliases for the keyword that are not its traditional form: 呼s你, 狗ip
- ``traditional`` OpenCC's s2t (the reverse of its t2s) and its Taiwan/HK phrase aliases: 電話轟炸, 簡訊轟炸
- ``fullwidth``   full-width forms of Latin spellings (NFKC folds them): ｈｓｎ, ｇｏｉｐ
"""
from __future__ import annotations

import re

from classifier import normalize

KINDS = ("plain", "spacing", "pinyin", "homophone", "traditional", "fullwidth")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_s2t = None


def _traditional(text: str) -> str:
    global _s2t
    if _s2t is None:
        import opencc

        _s2t = opencc.OpenCC("s2t")
    return _s2t.convert(text)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def _latin_aliases(keyword: str) -> list[str]:
    found = [key for key, canon in normalize._LATIN.items() if canon == keyword]
    if found or not _CJK.search(keyword):
        return sorted(found, key=lambda k: (-len(k), k))
    from pypinyin import lazy_pinyin

    syllables = [s for s in lazy_pinyin(keyword) if s.isascii() and s.isalpha()]
    return ["".join(syllables), "".join(s[0] for s in syllables)] if syllables else []


def variants(keyword: str, per_kind: int = 2) -> list[tuple[str, str]]:
    """(kind, query) for the keyword itself and up to ``per_kind`` variants of each kind."""
    keyword = keyword.strip()
    out: dict[str, str] = {keyword: "plain"}

    def add(kind: str, queries):
        n = 0
        for q in queries:
            if q and q not in out and n < per_kind:
                out[q] = kind
                n += 1

    if _CJK.search(keyword) and len(keyword) > 1:
        seps = [s for s in (" ", "-", "·") if s in normalize._SOFT]
        add("spacing", [s.join(keyword) for s in seps])
    latin = _latin_aliases(keyword)
    add("pinyin", latin)
    trad_phrases, homophones = [], []
    for key, canon in normalize._PHRASE.items():
        if canon in keyword:
            spelled = keyword.replace(canon, key)
            (trad_phrases if _is_traditional(key) else homophones).append(spelled)
    add("homophone", homophones)
    add("traditional", [_traditional(keyword), *(_traditional(t) for t in trad_phrases)])
    add("fullwidth", [_fullwidth(q) for q in ([keyword] if keyword.isascii() else latin)])
    return [(kind, q) for q, kind in out.items()]


def _is_traditional(key: str) -> bool:
    """A phrase alias is a Taiwan/HK term when it has a traditional form (the table keeps keys folded
    to simplified: 簡訊 is kept as 简讯); otherwise it stands for a sound (呼s你, 狗ip, 狗艾皮)."""
    return _traditional(key) != key
