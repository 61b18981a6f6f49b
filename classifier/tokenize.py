"""Word segmentation: the only module that imports jieba.

One jieba Tokenizer with Sweep's domain dictionary (data/userdict.txt plus reviewer-approved
terms), initialised once per process on first use.
"""
from __future__ import annotations

import logging
import re
import threading
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
                for path in (USER_DICT, APPROVED_TERMS):
                    if path.exists():
                        tk.load_userdict(str(path))
                _tokenizer = tk
    return _tokenizer


def words(text: str) -> list[str]:
    """jieba words of (already normalised) text, without whitespace and punctuation."""
    return [w for w in tokenizer().lcut(text) if _KEEP.search(w)]
