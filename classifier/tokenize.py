"""Word segmentation: the only module that imports jieba.

One jieba Tokenizer with Sweep's domain dictionary (data/userdict.txt plus reviewer-approved
terms), initialised once per process on first use.
"""
from __future__ import annotations

import logging
import re
import threading
from math import log
from pathlib import Path

import jieba

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"
APPROVED_TERMS = DATA_DIR / "approved_terms.txt"   # written by `sweep terms --approve`
_KEEP = re.compile(r"[\w]", re.UNICODE)

jieba.setLogLevel(logging.WARNING)
_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()


def tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(str(USER_DICT))
                for word, freq in approved_terms():
                    tk.add_word(word, freq)
                _tokenizer = tk
    return _tokenizer


def approved_terms(path: Path = APPROVED_TERMS) -> list[tuple[str, int]]:
    """Reviewer-approved jargon (`sweep terms approve`): "word freq tag" lines, '#' comments."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            out.append((parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 20))
    return out


def dictionary_version() -> dict:
    """Which domain dictionary a model was trained with (recorded in the model card)."""
    import hashlib

    digest = hashlib.sha256()
    version = 0
    for path in (USER_DICT, APPROVED_TERMS):
        if path.exists():
            data = path.read_bytes()
            digest.update(data)
            if path == APPROVED_TERMS and data.startswith(b"# version "):
                version = int(data.split(b"\n", 1)[0].split()[2])
    return {"approved_terms_version": version, "sha256": digest.hexdigest()}


def words(text: str, cache: dict | None = None) -> list[str]:
    """jieba words of (already normalised) text, without whitespace and punctuation.

    Dictionary words only (HMM=False): the HMM's guesses at unknown words cost a third of jieba's
    time, and the character n-gram channel already reads what it would have glued together.
    The same words as ``tokenizer().lcut(text, HMM=False)`` filtered by ``_KEEP`` (tested), cut by
    ``_cut_block`` below; ``cache`` (block -> words), when given, is shared by the texts of a batch.
    """
    tk = tokenizer()
    freq, logtotal = tk.FREQ, log(tk.total)
    out: list[str] = []
    blocks = _HAN.split(text)
    for k, blk in enumerate(blocks):
        if not blk:
            continue
        if k % 2:                    # split() with one group: odd items are the han blocks
            if cache is None:
                out += _cut_block(blk, freq, logtotal)
            else:
                got = cache.get(blk)
                if got is None:
                    got = cache[blk] = _cut_block(blk, freq, logtotal)
                out += got
        else:                        # jieba yields every other char alone: keep the word characters
            out += _KEEP.findall(blk)
    return out


# What jieba.Tokenizer.cut(HMM=False) does per block of han/alphanumeric characters, without its
# generators, DAG dict and per-candidate tuples (its pure-Python loop was half of our path's time):
# the best route right to left, each position's candidates found by walking the prefix dictionary.
_HAN = jieba.re_han_default
_NOT_WORD = "+#&.%-"                 # the characters of a han block that are not \w
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _cut_block(blk: str, freq: dict, logtotal: float) -> list[str]:
    n = len(blk)
    score = [0.0] * (n + 1)           # best log-probability of blk[k:], and the end of its first word
    end = list(range(n + 1))
    for k in range(n - 1, -1, -1):
        best, arg = None, k
        i, frag = k, blk[k]
        while (f := freq.get(frag)) is not None:
            if f:                     # same float operations and tie rule (larger end) as jieba's calc
                s = log(f) - logtotal + score[i + 1]
                if best is None or s >= best:
                    best, arg = s, i
            i += 1
            if i >= n:
                break
            frag = blk[k:i + 1]
        score[k] = -logtotal + score[k + 1] if best is None else best   # a char on its own: log(1)
        end[k] = arg
    out: list[str] = []
    x, buf = 0, ""
    while x < n:
        y = end[x] + 1
        w = blk[x:y]
        if y - x == 1 and w in _ASCII_ALNUM:      # single letters/digits in a row are glued
            buf += w
        else:
            if buf:
                out.append(buf)
                buf = ""
            if w.strip(_NOT_WORD):              # not only punctuation (what _KEEP would drop)
                out.append(w)
        x = y
    if buf:
        out.append(buf)
    return out
