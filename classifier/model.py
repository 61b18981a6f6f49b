"""The whole text → label path as one scikit-learn Pipeline."""
from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from . import features


def build_pipeline(C: float = 0.5, calibration_folds: int = 5) -> Pipeline:
    def tfidf(analyzer, min_df):
        return TfidfVectorizer(analyzer=analyzer, token_pattern=None, lowercase=False, min_df=min_df,
                               sublinear_tf=True, dtype=np.float32)

    union = FeatureUnion([
        ("words", tfidf(features.word_tokens, 1)),
        ("chars", tfidf(features.char_ngrams, 2)),
        ("pinyin", tfidf(features.pinyin_ngrams, 2)),
        ("struct", FunctionTransformer(features.structural, feature_names_out=features.structural_names)),
    ])
    clf = CalibratedClassifierCV(LinearSVC(C=C, class_weight="balanced"), method="sigmoid", cv=calibration_folds)
    return Pipeline([
        ("prepare", FunctionTransformer(features.prepare)),
        ("features", union),
        ("clf", clf),
    ])
