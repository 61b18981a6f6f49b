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
from sklearn.dummy import DummyClassifier
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

    def listing_proba(self, seg_proba: np.ndarray, X_seg, X_doc) -> np.ndarray:
        """Per listing, from its strongest segment (``seg_proba``, already evidence-shrunk, and its row
        ``X_seg``) and its whole text ``X_doc``: the listing model when one is attached, else the segment's."""
        listing = getattr(self, "listing_", None)
        if listing is None:
            return seg_proba
        seg_p = 1.0 - seg_proba[:, list(self.classes_).index(self.benign)]
        return self.assemble(listing.harmful(seg_p, listing.context(X_doc)),
                             listing.category(self.decision(X_seg), listing.decision(X_doc)))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def sparsify(self) -> None:
        """Most hashed columns are unused: sparse weights are ~4x smaller. CSC so that X @ coef_.T is
        CSR @ CSR (a CSR coef_ was converted on every call)."""
        for est in [c.estimator for c in self.binary_.calibrated_classifiers_] + [self.category_]:
            est.sparsify()
            est.coef_ = est.coef_.tocsc()
        if getattr(self, "listing_", None) is not None:
            self.listing_.sparsify()

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


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


# Whole-listing views beside the report register, each a calibrated yes/no over the corpus's labels:
# name -> (hard-negative types that are its positives, or "harmful"; whether offers and ordinary
# pages are its negatives too). "report" is every hard negative against everything else.
VIEWS = {
    "legit": (("legit_sms", "legit_hardware"), True),             # documentation of legitimate telephony
    "about": (("news", "victim", "anti_harassment", "security_dev"), True),   # writing about the tools
    "offer": ("harmful", False),                                  # an offer, against hard negatives only
}
REGISTERS = ("legit", "about")            # views whose interaction with the segment the stacker also sees
# The stacker's columns, in order; older artifacts' stackers use a prefix (2: session 8; 3: session 9).
STACK_COLUMNS = ("segment", "report", "segment x report",
                 *[c for v in VIEWS for c in (v, *([f"segment x {v}"] if v in REGISTERS else []))])


def _positive(model, X) -> np.ndarray:
    """P(True) from a yes/no model; a base-rate model fitted on one class answers that class."""
    classes = list(model.classes_)
    if True not in classes:
        return np.zeros(X.shape[0])
    return model.predict_proba(X)[:, classes.index(True)]


class ListingContext(BaseEstimator):
    """The whole listing beside its strongest segment (attached to the segment model as ``listing_``).

    A news report, a victim's post or a README sentence read alone can look like an offer; the whole
    text reads as a report. ``register_`` scores the whole listing for that register (trained on
    whole listings: benign hard negatives about the tools — news, victims, advice, security work,
    legitimate hardware — against everything else, offers and ordinary pages alike), so shop
    boilerplate around an offer does not read as a report, where a harmful-or-not model of the whole
    page learned "long → benign" (diluted recall at 250 characters fell to 0.59).

    ``views_`` (VIEWS) split that register by what the page is: documentation of legitimate
    telephony, writing about the tools (news, victims, advice, security work), and an offer read
    against the hard negatives only (ordinary pages left out, so its weights are spent on offer
    against report, not on telephony against shopping). One register made a harmful device's
    manual or a tool's README, which read like legitimate documentation, as much "report" as a news
    story; the stacker now weighs the two kinds apart.

    ``stack_`` is a logistic regression over out-of-fold scores: logit strongest segment, logit
    report, max(logit segment, 0) × report, then per view its logit and, for the registers, its
    interaction with the segment. The interactions let a page that reads as a report discount a
    saturated sentence more than a doubtful one: an explainer's quoted claim scores 1.0 like an
    offer, and a linear stack could only take the same fixed amount off both (session 9: frozen
    hard-negative flags 2.0 % → 0.9 % on session 8's scores). Category is a property of the listing:
    ``category_`` is trained on whole harmful listings, and its decision values are added to the
    strongest segment's.
    """

    def __init__(self, C: float = 3.0, cv=5):
        self.C = C
        self.cv = cv

    def _calibrated(self):
        return CalibratedClassifierCV(LinearSVC(C=self.C, class_weight="balanced", random_state=0),
                                      method="sigmoid", cv=self.cv, ensemble=False)

    def _view(self, X, target):
        """A calibrated view, or its base rate where the corpus has too few rows of a kind to calibrate
        (a small corpus of one's own without, say, news): a constant column the stacker learns to ignore."""
        folds = self.cv if isinstance(self.cv, int) else len(self.cv)
        if np.bincount(np.asarray(target, dtype=int), minlength=2).min() < folds:
            return DummyClassifier(strategy="prior").fit(X, target)
        return self._calibrated().fit(X, target)

    def fit_views(self, X_doc, y, hard_negative, original, benign: str = "benign"):
        """The whole-listing models; ``hard_negative`` holds each listing's hard-negative type ("" for
        none), ``original`` marks the corpus's own listings (not padded copies).

        The register models read padded copies too (boilerplate around an offer is not a report); the
        category model only originals: the copies' ordinary padding gave it 1.6 M weights (a 30 MB
        artifact) that decide nothing, since a listing's category is in its offer."""
        y, original = np.asarray(y), np.asarray(original, dtype=bool)
        hard_negative = np.asarray([h or "" for h in hard_negative])
        harmful = y != benign
        report = ~harmful & (hard_negative != "")
        self.register_ = self._view(X_doc, report)
        self.views_ = {}
        for name, (positives, against_all) in VIEWS.items():
            target = harmful if positives == "harmful" else np.isin(hard_negative, positives)
            rows = np.ones(len(y), bool) if against_all else harmful | report
            self.views_[name] = self._view(X_doc[rows], target[rows])
        rows = harmful & original
        self.category_ = LinearSVC(C=self.C, class_weight="balanced", random_state=0).fit(X_doc[rows], y[rows])
        return self

    def fit_stack(self, seg_oof: np.ndarray, context_oof: np.ndarray, harmful: np.ndarray):
        self.stack_ = LogisticRegression(C=1.0).fit(self.features(seg_oof, context_oof), harmful)
        return self

    def report_proba(self, X_doc) -> np.ndarray:
        return _positive(self.register_, X_doc)

    def context(self, X_doc) -> np.ndarray:
        """Per listing: the report register, then each view's probability (artifacts from before the
        views have the register only)."""
        views = getattr(self, "views_", {})
        return np.column_stack([self.report_proba(X_doc), *[_positive(views[v], X_doc) for v in views]])

    def decision(self, X_doc) -> np.ndarray:
        d = self.category_.decision_function(X_doc)
        return np.column_stack([-d, d]) if d.ndim == 1 else d

    @staticmethod
    def features(seg_p, context) -> np.ndarray:
        """Stack inputs from the strongest segment's probability and context() columns (a 1-D
        ``context`` is the report register alone)."""
        context = np.asarray(context, dtype=np.float64)
        context = context[:, None] if context.ndim == 1 else context
        seg = _logit(np.asarray(seg_p))
        strong = np.maximum(seg, 0.0)
        cols = {"segment": seg}
        for name, p in zip(("report", *VIEWS), context.T):
            cols[name], cols[f"segment x {name}"] = _logit(p), strong * p
        return np.column_stack([cols[c] for c in STACK_COLUMNS if c in cols])

    @staticmethod
    def feature_names(n: int) -> list[str]:
        return list(STACK_COLUMNS[:n])

    def harmful(self, seg_p, context) -> np.ndarray:
        X = self.features(seg_p, context)[:, :self.stack_.n_features_in_]
        return self.stack_.predict_proba(X)[:, 1]

    @staticmethod
    def category(seg_d: np.ndarray, doc_d: np.ndarray) -> np.ndarray:
        return seg_d + doc_d

    def sparsify(self) -> None:
        models = [m for m in [self.register_, *getattr(self, "views_", {}).values()]
                  if isinstance(m, CalibratedClassifierCV)]
        for est in [c.estimator for m in models for c in m.calibrated_classifiers_] + [self.category_]:
            est.sparsify()
            est.coef_ = est.coef_.tocsc()
