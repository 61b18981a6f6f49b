"""The whole text → label path as one scikit-learn Pipeline.

Features are hashed (HashingVectorizer + TF-IDF weights) rather than kept in a vocabulary:
a vocabulary of ~100k n-grams made the skops artifact 70 MB of JSON and ~3 s to load, the
hashed model is a few arrays that load in a fraction of that. Explanations recover the
words behind each hashed column from the listing's own tokens (classifier/explain.py).
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from . import features
from .estimator import HarmfulThenCategory

# Columns per channel (2^17 words, 2^18 character n-grams, 2^17 pinyin n-grams).
N_FEATURES = {"words": 2**17, "chars": 2**18, "pinyin": 2**17}
MIN_DF = {"words": 1, "chars": 2, "pinyin": 2}
ANALYZERS = {"words": features.word_tokens, "chars": features.char_ngrams, "pinyin": features.pinyin_ngrams}


def build_pipeline(C: float = 3.0, calibration_folds: int = 5) -> Pipeline:
    """record -> doc -> hashed counts (+ structure) -> per-channel TF-IDF -> harmful-or-not, then category.

    Prediction runs the steps on segments (classifier/segment.py sums "counts" over units);
    ``pipeline.predict_proba(records)`` scores each record as one text.
    """
    counts = FeatureUnion([
        *[(name, HashingVectorizer(analyzer=ANALYZERS[name], n_features=n, alternate_sign=False, norm=None,
                                   dtype=np.float64)) for name, n in N_FEATURES.items()],
        ("struct", FunctionTransformer(features.structural, feature_names_out=features.structural_names)),
    ])
    weights = features.ChannelTfidf(widths=tuple(N_FEATURES.values()), min_df=tuple(MIN_DF[k] for k in N_FEATURES))
    clf = HarmfulThenCategory(C=C, cv=calibration_folds)
    return Pipeline([
        ("prepare", FunctionTransformer(features.prepare)),
        ("counts", counts),
        ("weights", weights),
        ("clf", clf),
    ])
