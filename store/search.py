"""Full-text search that works for Chinese.

SQLite's unicode61 tokenizer treats a run of Chinese characters as one word (so 呼死你 is
not found inside 呼死你软件) and the trigram tokenizer cannot match two-character terms
(猫池, 轰炸). Word segmentation (jieba) is not exact either: it splits the same string
differently in different contexts. We index every CJK run as overlapping character
bigrams plus its last character, and turn a query into the same bigrams as an FTS5
phrase: a listing matches exactly when its text contains the query as a substring
(after NFKC folding and lower-casing), for queries of any length.
"""
from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _tokens(text: str) -> list[str]:
    out = []
    for run in _TOKEN.findall(fold(text)):
        if _IS_CJK.match(run):
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
            out.append(run[-1])
        else:
            out.append(run)
    return out


def index_text(*parts: str) -> str:
    """What goes into listing_fts.tokens for a listing's title and description."""
    return " ".join(" ".join(_tokens(p)) for p in parts if p)


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression for ``query`` (None when it has nothing searchable)."""
    terms = []
    for run in _TOKEN.findall(fold(query)):
        if _IS_CJK.match(run):
            if len(run) == 1:
                terms.append(f'"{run}"*')   # a bigram starting with it, or a run-final unigram
            else:
                terms.append('"' + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + '"')
        else:
            terms.append(f'"{run}"*')   # Latin/digits: word prefix (goip finds goip8)
    return " AND ".join(terms) or None
