"""Feature extraction: every function here is module-level so the Pipeline pickles.

``prepare`` runs once per listing (normalise, segment, pinyin, cues); the vectorizers'
analyzers then only read the prepared dict, so no text is normalised twice.
"""
from __future__ import annotations

import re
from itertools import repeat

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher

from .normalize import contact_cues, normalize, phonetic
from .tokenize import words

_RUN = re.compile(r"[^\W_]+")
# Five or more digits are a contact or order number, never a word: every fake contact in the corpus
# starts 12345, so their digit n-grams had become "harmful" words ("二手自行车 有意 QQ 123451234" 0.98).
_NUMBER = re.compile(r"\d{5,}")
NUMBER = "Ｎ"          # fullwidth letters are folded by normalize(), so this never occurs in text
CUES = ("cue_qq", "cue_wechat", "cue_telegram", "cue_private", "cue_phone")
# Only contact structure. Price and listing kind were dropped with segment scoring: given to every
# segment they became priors of the corpus's mix (kind_ecommerce outweighed 呼死你 in "呼死你软件 包月").
STRUCTURAL_NAMES = ("has_contact", *CUES)


def listing_text(record: dict) -> str:
    """The text a listing is judged on: title, then description (the original, for display spans)."""
    return f"{record.get('title') or ''}\n{record.get('description') or ''}"


def prepare_text(text: str, blocks: dict | None = None) -> dict:
    """One text's normalised form, jieba words, fuzzy pinyin and contact cues (``blocks``: a cache
    of jieba's cut per block that a batch shares, see tokenize.words).

    phonetic() and contact_cues() normalise their input again: a memo hit right after normalize(text).
    """
    norm = normalize(text)
    return {"norm": norm, "words": words(norm, blocks), "pinyin": phonetic(text), "cues": contact_cues(text)}


def context(record: dict, cues) -> dict:
    """The structure a segment is given: its own units' contact cues.

    Cues stay with the sentences that carry them: given to every segment, a QQ number at the end of
    an ordinary shop page made its title read like an offer.
    """
    return {"cues": sorted(cues)}


def prepare_one(record: dict) -> dict:
    doc = prepare_text(listing_text(record))
    return {**doc, **context(record, doc["cues"])}


def prepare(records) -> list[dict]:
    return [prepare_one(r) for r in records]


def _masked(tokens: list[str], doc: dict) -> list[str]:
    if not _NUMBER.search(doc["norm"]):          # the common case: no long number, nothing to mask
        return tokens
    return [NUMBER if t.isdigit() and len(t) >= 5 else t for t in tokens]


def word_tokens(doc: dict) -> list[str]:
    return _masked(doc["words"], doc)


def char_ngrams(doc: dict) -> list[str]:
    """2- and 3-grams inside runs of letters/digits/CJK (never across a space or sentence break)."""
    out: list[str] = []
    norm = doc["norm"]
    for run in _RUN.findall(_NUMBER.sub(NUMBER, norm) if _NUMBER.search(norm) else norm):
        out += [run[i:i + 2] for i in range(len(run) - 1)]
        out += [run[i:i + 3] for i in range(len(run) - 2)]
    return out


def pinyin_ngrams(doc: dict) -> list[str]:
    syl = _masked(doc["pinyin"], doc)
    return ([f"{a}_{b}" for a, b in zip(syl, syl[1:])]
            + [f"{a}_{b}_{c}" for a, b, c in zip(syl, syl[1:], syl[2:])])


def hashed(vectorizer, docs: list[dict]):
    """``vectorizer.transform(docs)`` for a channel's HashingVectorizer (tested equal), twice as fast:
    the (token, 1) pairs sklearn hashes come from ``zip`` in C, not from a generator per token."""
    if vectorizer.alternate_sign or vectorizer.norm or vectorizer.binary or not callable(vectorizer.analyzer):
        return vectorizer.transform(docs)
    hasher = FeatureHasher(n_features=vectorizer.n_features, input_type="pair", dtype=vectorizer.dtype,
                           alternate_sign=False)
    return hasher.transform(zip(vectorizer.analyzer(d), repeat(1)) for d in docs)


def structural(docs: list[dict]):
    rows = []
    for d in docs:
        cues = set(d["cues"])
        rows.append([float(bool(cues & {"cue_qq", "cue_wechat", "cue_telegram", "cue_phone"})),
                     *[float(c in cues) for c in CUES]])
    return sparse.csr_matrix(np.asarray(rows, dtype=np.float64).reshape(len(rows), len(STRUCTURAL_NAMES)))


def structural_names(transformer=None, input_features=None):
    return np.asarray(STRUCTURAL_NAMES, dtype=object)


class ChannelTfidf(TransformerMixin, BaseEstimator):
    """Per hashed channel: drop columns seen in fewer than ``min_df`` training rows, sublinear TF-IDF
    (1 + ln tf) x idf, L2 norm; columns after the channels (structure) pass through.

    Hashed counts stay additive up to here, so a segment's counts can be summed from its units'
    (classifier/segment.py); HashingVectorizer has no min_df, and one-off n-grams are noise the
    model overfits to (about half a point of F1 in cross-validation).
    """

    def __init__(self, widths=(), min_df=()):
        self.widths = widths
        self.min_df = min_df

    def fit(self, X, y=None):
        X = sparse.csr_matrix(X)
        n = X.shape[0]
        df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
        self.scale_ = np.log((1 + n) / (1 + df)) + 1.0      # TfidfTransformer's smooth idf
        start = 0
        for width, min_df in zip(self.widths, self.min_df):
            self.scale_[start:start + width][df[start:start + width] < min_df] = 0.0
            start += width
        self.scale_[start:] = 1.0
        return self

    def transform(self, X):
        X = sparse.csr_matrix(X, dtype=np.float64, copy=True)
        ends = np.cumsum(self.widths, dtype=np.int64)
        k = len(ends)
        # In place over all non-zeros (masked assignments cost more than the log): 1 + ln tf, the
        # few structure values put back, then idf
        passed = np.flatnonzero(X.indices >= (ends[-1] if k else 0))
        kept = X.data[passed]
        with np.errstate(divide="ignore"):
            np.log(X.data, out=X.data)
        X.data += 1.0
        X.data[passed] = kept
        X.data *= self.scale_[X.indices]          # O(non-zeros)
        X.eliminate_zeros()
        # L2 per row and channel in one pass: each non-zero's (row, channel) cell, channel k = structure
        cell = np.repeat(np.arange(0, X.shape[0] * (k + 1), k + 1), np.diff(X.indptr))
        for end in ends:
            cell += X.indices >= end
        norms = np.sqrt(np.bincount(cell, weights=X.data * X.data, minlength=X.shape[0] * (k + 1)))
        norms[norms == 0] = 1.0
        norms[k::k + 1] = 1.0                     # structure columns pass through
        X.data /= norms[cell]
        return X
