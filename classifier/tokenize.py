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


def words(text: str) -> list[str]:
    """jieba words of (already normalised) text, without whitespace and punctuation.

    Dictionary words only (HMM=False): the HMM's guesses at unknown words cost a third of jieba's
    time, and the character n-gram channel already reads what it would have glued together.
    """
    return [w for w in tokenizer().lcut(text, HMM=False) if _KEEP.search(w)]
