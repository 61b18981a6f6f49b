"""The classifier at the end of the Pipeline: a calibrated harmful-or-not score, then the category.

One-vs-rest probabilities normalised over six classes let text unlike any training row land on
whichever class its few known words lean to, confidently ("淡季携程的价格也蛮有诱惑力的" scored
call_bomber 0.99): when every class's calibrated probability is small, normalising them makes one
large. Here the score is one calibrated binary decision (harmful vs benign, learned against all
benign text), and a separate linear model trained on harmful rows only picks the category.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC


class HarmfulThenCategory(ClassifierMixin, BaseEstimator):
    """predict_proba: benign = 1 − P(harmful); P(harmful) shared over the harmful classes by a softmax
    of the category model's decision values (it only splits the score, the score is the calibrated one).

    ``cv``: calibration folds (an int, or (train, test) index pairs that keep a listing's overlapping
    segments together — train.py passes those and resets the parameter to an int after fitting).
    """

    def __init__(self, C: float = 3.0, cv=5, benign: str = "benign"):
        self.C = C
        self.cv = cv
        self.benign = benign

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.asarray(sorted(set(y)))
        harmful = y != self.benign
        self.binary_ = CalibratedClassifierCV(LinearSVC(C=self.C, class_weight="balanced", random_state=0),
                                              method="sigmoid", cv=self.cv, ensemble=False).fit(X, harmful,
                                                                                                 sample_weight=w)
        self.category_ = LinearSVC(C=self.C, class_weight="balanced", random_state=0).fit(
            X[harmful], y[harmful], sample_weight=w[harmful])
        return self

    def predict_proba(self, X) -> np.ndarray:
        p = self.binary_.predict_proba(X)[:, 1]
        d = self.category_.decision_function(X)
        if d.ndim == 1:                                  # two harmful classes: one decision column
            d = np.column_stack([-d, d])
        e = np.exp(3.0 * (d - d.max(axis=1, keepdims=True)))
        share = e / e.sum(axis=1, keepdims=True)
        out = np.zeros((X.shape[0], len(self.classes_)))
        cats = [list(self.classes_).index(c) for c in self.category_.classes_]
        out[:, cats] = share * p[:, None]
        out[:, list(self.classes_).index(self.benign)] = 1.0 - p
        return out

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def sparsify(self) -> None:
        """Most hashed columns are unused: sparse weights are ~4x smaller. CSC so that X @ coef_.T is
        CSR @ CSR (a CSR coef_ was converted on every call)."""
        for est in [c.estimator for c in self.binary_.calibrated_classifiers_] + [self.category_]:
            est.sparsify()
            est.coef_ = est.coef_.tocsc()

    def coef_for(self, label: str) -> np.ndarray:
        """Weights pushing a row towards ``label`` (explanations): the harmful-vs-benign weights, plus the
        category's own for a harmful label; their negation for benign."""
        dense = [c.estimator.coef_ for c in self.binary_.calibrated_classifiers_]
        binary = np.mean([c.toarray() if hasattr(c, "toarray") else c for c in dense], axis=0).ravel()
        if label == self.benign:
            return -binary
        cat = self.category_.coef_
        cat = cat.toarray() if hasattr(cat, "toarray") else np.asarray(cat)
        return binary + cat[list(self.category_.classes_).index(label)]
