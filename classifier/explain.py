"""Why a listing got its label: the strongest features, mapped back to spans of the original text.

The model works on normalised text (simplified, separators removed, pinyin expanded), but a
reviewer reads the seller's own words; ``normalize_with_offsets`` lets us highlight
'呼-死-你' in the original when the feature was '呼死你'. Features are hashed, so the words
behind a column are recovered by hashing the listing's own tokens the same way.
"""
from __future__ import annotations

import numpy as np
from sklearn.utils import murmurhash3_32

from .features import STRUCTURAL_NAMES
from .model import ANALYZERS
from .normalize import normalize_with_offsets, phonetic
from .segment import Batch, segment_doc


def _model_parts(classifier):
    """({label: weights}, [(group, column offset, n_features)]) — computed once per Classifier."""
    cached = getattr(classifier, "_parts", None)
    if cached is None:
        union, clf = classifier.pipeline.named_steps["counts"], classifier.pipeline.named_steps["clf"]
        coef = {label: clf.coef_for(label) for label in classifier.classes}
        groups, offset = [], 0
        for name, transformer in union.transformer_list:
            width = transformer.n_features if name in ANALYZERS else len(STRUCTURAL_NAMES)
            groups.append((name, offset, width))
            offset += width
        cached = classifier._parts = (coef, groups)
    return cached


def _columns(doc: dict, groups, wanted: set[int]) -> dict[int, tuple[str, str]]:
    """Global column -> (group, token) for the ``wanted`` columns, from this listing's own tokens.

    Same hash as HashingVectorizer(alternate_sign=False): |murmurhash3_32(token, seed=0)| mod width.
    """
    out = {}
    for name, offset, width in groups:
        if not any(offset <= c < offset + width for c in wanted):
            continue
        if name not in ANALYZERS:
            out.update({offset + i: (name, f) for i, f in enumerate(STRUCTURAL_NAMES) if offset + i in wanted})
            continue
        for token in ANALYZERS[name](doc):
            col = offset + abs(murmurhash3_32(token, seed=0)) % width
            if col in wanted and col not in out:
                out[col] = (name, token)
    return out


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


def explain(classifier, b: Batch, row: int, x_row, label: str, top: int = 6) -> list[dict]:
    """The ``top`` features of segment ``row`` pushing towards ``label``, with spans in the original text."""
    coef, groups = _model_parts(classifier)
    row_x = x_row.tocsr() if hasattr(x_row, "tocsr") else x_row
    idx, values = row_x.indices, row_x.data
    if len(idx) == 0:
        return []
    contrib = values * coef[label][idx]
    order = [j for j in np.argsort(-contrib)[:top] if contrib[j] > 0]
    if not order:
        return []
    names = _columns(segment_doc(b, row), groups, {int(idx[j]) for j in order})
    units = [b.units[b.owner[row]][i] for i in b.segments[row]]
    normalised = [normalize_with_offsets(u.text) for u in units]
    out = []
    for j in order:
        group, term = names.get(int(idx[j]), ("unknown", "?"))
        spans = []
        for unit, (norm, offsets) in zip(units, normalised):
            if group == "pinyin":
                hits = _find_pinyin(norm, term.split("_"))
            elif group in ("words", "chars"):
                hits = _find(norm, term)
            else:
                hits = []
            for s, e in hits:
                a, z = offsets[s], offsets[e - 1] + 1
                spans.append({"field": unit.field, "start": unit.start + a, "end": unit.start + z,
                              "text": unit.text[a:z]})
        out.append({"feature": term, "group": group, "weight": round(float(contrib[j]), 4), "spans": spans[:5]})
    return out
