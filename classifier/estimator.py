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
from sklearn.linear_model import LogisticRegression
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

    def harmful_proba(self, X) -> np.ndarray:
        return self.binary_.predict_proba(X)[:, 1]

    def decision(self, X) -> np.ndarray:
        """The category model's decision values, one column per harmful class (category_.classes_)."""
        d = self.category_.decision_function(X)
        return np.column_stack([-d, d]) if d.ndim == 1 else d    # two harmful classes: one column

    def assemble(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Class probabilities from P(harmful) ``p`` and category decision values ``d``."""
        e = np.exp(3.0 * (d - d.max(axis=1, keepdims=True)))
        share = e / e.sum(axis=1, keepdims=True)
        out = np.zeros((len(p), len(self.classes_)))
        cats = [list(self.classes_).index(c) for c in self.category_.classes_]
        out[:, cats] = share * p[:, None]
        out[:, list(self.classes_).index(self.benign)] = 1.0 - p
        return out

    def predict_proba(self, X) -> np.ndarray:
        return self.assemble(self.harmful_proba(X), self.decision(X))

    def listing_proba(self, seg_proba: np.ndarray, X_seg, X_doc, doc_evidence, min_evidence: float) -> np.ndarray:
        """Per listing, from its strongest segment (``seg_proba``, already evidence-shrunk, and its row
        ``X_seg``) and its whole text ``X_doc``: the listing model when one is attached, else the segment's."""
        listing = getattr(self, "listing_", None)
        if listing is None:
            return seg_proba
        seg_p = 1.0 - seg_proba[:, list(self.classes_).index(self.benign)]
        doc_p = listing.document_.harmful_proba(X_doc) * evidence_weight(doc_evidence, min_evidence)
        return self.assemble(listing.harmful(seg_p, doc_p),
                             listing.category(self.decision(X_seg), listing.document_.decision(X_doc)))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def sparsify(self) -> None:
        """Most hashed columns are unused: sparse weights are ~4x smaller. CSC so that X @ coef_.T is
        CSR @ CSR (a CSR coef_ was converted on every call)."""
        for est in [c.estimator for c in self.binary_.calibrated_classifiers_] + [self.category_]:
            est.sparsify()
            est.coef_ = est.coef_.tocsc()
        if getattr(self, "listing_", None) is not None:
            self.listing_.document_.sparsify()

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


def evidence_weight(evidence, min_evidence: float) -> np.ndarray:
    """min(1, characters / min_evidence): "SMS" or a bare "短信" is not enough evidence on its own."""
    return np.minimum(1.0, np.asarray(evidence, dtype=np.float64) / max(1e-9, min_evidence))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class ListingContext(BaseEstimator):
    """The whole listing beside its strongest segment (attached to the segment model as ``listing_``).

    A news report, a victim's post or a README sentence read alone can look like an offer; the whole
    text reads as a report. ``document_`` is a HarmfulThenCategory trained on whole listings;
    ``stack_`` a logistic regression over (logit strongest-segment score, logit whole-listing score),
    fitted on out-of-fold scores, so how much the context may overrule a segment is learned — long
    harmful pages in the corpus (an offer inside boilerplate) teach it not to overrule an offer.
    Category is a property of the listing: the sum of both category models' decision values.
    """

    def __init__(self, C: float = 3.0, cv=5, benign: str = "benign"):
        self.C = C
        self.cv = cv
        self.benign = benign

    def fit(self, X_doc, y, seg_oof: np.ndarray, doc_oof: np.ndarray):
        self.document_ = HarmfulThenCategory(C=self.C, cv=self.cv, benign=self.benign).fit(X_doc, y)
        self.stack_ = LogisticRegression(C=1.0).fit(self.features(seg_oof, doc_oof), np.asarray(y) != self.benign)
        return self

    @staticmethod
    def features(seg_p, doc_p) -> np.ndarray:
        return np.column_stack([_logit(np.asarray(seg_p)), _logit(np.asarray(doc_p))])

    def harmful(self, seg_p, doc_p) -> np.ndarray:
        return self.stack_.predict_proba(self.features(seg_p, doc_p))[:, 1]

    @staticmethod
    def category(seg_d: np.ndarray, doc_d: np.ndarray) -> np.ndarray:
        return seg_d + doc_d
