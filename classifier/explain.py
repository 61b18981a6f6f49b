"""Why a listing got its label: the strongest features, mapped back to spans of the original text.

The model works on normalised text (simplified, separators removed, pinyin expanded), but a
reviewer reads the seller's own words; ``normalize_with_offsets`` lets us highlight
'呼-死-你' in the original when the feature was '呼死你'.
"""
from __future__ import annotations

import numpy as np

from .features import listing_text
from .normalize import normalize_with_offsets, phonetic


def _model_weights(classifier) -> tuple[np.ndarray, np.ndarray]:
    """(coef per class averaged over the calibration folds, feature names) — computed once."""
    cached = getattr(classifier, "_weights", None)
    if cached is None:
        _, union, clf = (step for _, step in classifier.pipeline.steps)
        coefs = [cc.estimator.coef_ for cc in clf.calibrated_classifiers_]
        cached = (np.mean(coefs, axis=0), np.asarray(union.get_feature_names_out()))
        classifier._weights = cached
    return cached


def _spans(norm: str, offsets: list[int], start: int, end: int, title_len: int, raw: str) -> dict:
    a, b = offsets[start], offsets[end - 1] + 1
    if a < title_len:
        return {"field": "title", "start": a, "end": min(b, title_len), "text": raw[a:min(b, title_len)]}
    a, b = a - title_len - 1, b - title_len - 1
    return {"field": "description", "start": max(a, 0), "end": b, "text": raw[title_len + 1 + max(a, 0):title_len + 1 + b]}


def _find(norm: str, term: str) -> list[tuple[int, int]]:
    found, i = [], norm.find(term)
    while i >= 0 and len(found) < 5:
        found.append((i, i + len(term)))
        i = norm.find(term, i + 1)
    return found


def _find_pinyin(norm: str, syllables: list[str]) -> list[tuple[int, int]]:
    per_char = [(phonetic(ch) or [None])[0] for ch in norm]
    n, found = len(syllables), []
    for i in range(len(norm) - n + 1):
        if per_char[i:i + n] == syllables:
            found.append((i, i + n))
    return found[:5]


def explain(classifier, record: dict, x_row, label: str, top: int = 6) -> list[dict]:
    coef, names = _model_weights(classifier)
    row = x_row.tocsr() if hasattr(x_row, "tocsr") else x_row
    idx, values = row.indices, row.data
    if len(idx) == 0:
        return []
    k = classifier.classes.index(label)
    contrib = values * coef[k, idx]
    order = np.argsort(-contrib)[:top]
    raw = listing_text(record)
    title_len = len(record.get("title") or "")
    norm, offsets = normalize_with_offsets(raw)
    out = []
    for j in order:
        if contrib[j] <= 0:
            break
        group, _, term = str(names[idx[j]]).partition("__")
        if group == "pinyin":
            hits = _find_pinyin(norm, term.split("_"))
        elif group in ("words", "chars"):
            hits = _find(norm, term)
        else:
            hits = []
        spans = [_spans(norm, offsets, s, e, title_len, raw) for s, e in hits if e <= len(offsets)]
        out.append({"feature": term, "group": group, "weight": round(float(contrib[j]), 4), "spans": spans})
    return out
