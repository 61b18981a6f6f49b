"""Load the model once and label listings, with explanations mapped to spans of the original text."""
from __future__ import annotations

import contextlib
import functools
import gc
from pathlib import Path

import numpy as np

from . import HARMFUL
from . import artifact
from .explain import explain
from .segment import batch
from .threshold import logit

# A segment with fewer normalised characters than this is shrunk towards SHORT_PRIOR in proportion:
# "SMS", "短信" or a bare "呼死你" are not enough evidence of an offer on their own.
MIN_EVIDENCE = 8
# Shrinking pools log-odds: w·logit(p) + (1 − w)·logit(SHORT_PRIOR), w = evidence_weight(). Scaling the
# probability instead (p·w) capped a 7-character segment at log-odds 1.9 however sure its model was
# (9.2 at 8 characters), so "电话轰炸 包月" and "改号软件 包月" could never be flagged.
SHORT_PRIOR = 0.01


def decide(proba: np.ndarray, classes: list[str], threshold: float) -> tuple[str, float, bool]:
    """label, score (P not benign), flagged — the one decision rule training and prediction share."""
    benign = classes.index("benign")
    score = float(1.0 - proba[benign])
    flagged = score >= threshold
    if flagged:
        best = max((i for i, c in enumerate(classes) if c in HARMFUL), key=lambda i: proba[i])
        return classes[best], score, True
    return "benign", score, False


def evidence_weight(evidence: np.ndarray, min_evidence: float = MIN_EVIDENCE) -> np.ndarray:
    """min(1, evidence / min_evidence) per segment: how much of its harmful probability a short text keeps."""
    return np.minimum(1.0, np.asarray(evidence, dtype=np.float64) / max(1e-9, min_evidence))


def shrink_harmful(p: np.ndarray, evidence: np.ndarray, min_evidence: float = MIN_EVIDENCE,
                   prior: float | None = SHORT_PRIOR) -> np.ndarray:
    """P(harmful) per segment, shrunk for short text: log-odds pooled towards ``prior`` by
    evidence_weight(), never raised (a score below the prior stays). ``prior=None`` is the linear
    scaling p·w of artifacts built before SHORT_PRIOR (their card has no ``short_prior``)."""
    p = np.asarray(p, dtype=np.float64)
    w = evidence_weight(evidence, min_evidence)
    if prior is None:
        return p * w
    pooled = 1.0 / (1.0 + np.exp(-(w * logit(p) + (1.0 - w) * logit(prior))))
    return np.where(w >= 1.0, p, np.minimum(p, pooled))


def shrink(proba: np.ndarray, evidence: np.ndarray, benign: int, min_evidence: float = MIN_EVIDENCE,
           prior: float | None = SHORT_PRIOR) -> np.ndarray:
    """Class probabilities with P(harmful) shrunk by shrink_harmful(), each harmful class in proportion;
    the mass taken moves to benign."""
    harmful = 1.0 - proba[:, benign]
    kept = shrink_harmful(harmful, evidence, min_evidence, prior)
    out = proba * np.divide(kept, harmful, out=np.zeros_like(kept), where=harmful > 0)[:, None]
    out[:, benign] = 1.0 - kept
    return out


def strongest(proba: np.ndarray, owner: np.ndarray, benign: int) -> np.ndarray:
    """Per listing (owners 0..n-1, each with >= 1 row), the row of its most harmful segment."""
    order = np.lexsort((proba[:, benign], owner))          # by owner, then least benign first
    first = np.r_[True, owner[order][1:] != owner[order][:-1]]
    return order[first]


@contextlib.contextmanager
def paused_gc():
    """Cyclic GC off while a batch is scored: tokenising allocates millions of short-lived strings and
    lists (no cycles), and the collections they trigger cost a fifth of the path (3.7 s vs 4.9 s per
    1,000 listings). Re-enabled only if it was on, so nested or concurrent calls leave it as found."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class Classifier:
    def __init__(self, pipeline, card: dict):
        self.pipeline = pipeline
        self.card = card
        self.classes = [str(c) for c in pipeline.classes_]
        self.threshold = float(card["thresholds"]["flag"])
        self.version = card["model_version"]
        self.min_evidence = float(card["thresholds"].get("min_evidence", MIN_EVIDENCE))
        self.short_prior = card["thresholds"].get("short_prior")      # None: an artifact from before it

    @classmethod
    def load(cls, path: str | Path = artifact.DEFAULT_MODEL) -> Classifier:
        pipeline, card = artifact.load(Path(path))
        from .tokenize import tokenizer

        tokenizer()      # pay jieba's start-up once, at load
        return cls(pipeline, card)

    def proba(self, records: list[dict]):
        """(batch, weighted segment rows, each listing's strongest row, listing probabilities per class)."""
        steps = self.pipeline.named_steps
        with paused_gc():
            b = batch(records, steps["counts"])
            X = steps["weights"].transform(b.X)
            benign, clf = self.classes.index("benign"), steps["clf"]
            # The strongest segment is the one with the highest shrunk P(harmful); only the chosen rows
            # need the category split (its decision values over every segment were ~5 % of the path).
            p = shrink_harmful(clf.harmful_proba(X), b.evidence, self.min_evidence, self.short_prior)
            best = strongest((1.0 - p)[:, None], b.owner, 0)
            proba = shrink(clf.predict_proba(X[best]), b.evidence[best], benign, self.min_evidence, self.short_prior)
            listing = clf.listing_proba(proba, X[best], steps["weights"].transform(b.doc))
        return b, X, best, listing

    def predict(self, records: list[dict], explain_top: int = 6, explain_benign: bool = True) -> list[dict]:
        """One result per record: label, score, flagged, scores, explanation, model_version.

        ``explain_benign=False`` explains only flagged listings (what reviewers see); the crawl uses it.
        """
        if not records:
            return []
        b, X, best, listing = self.proba(records)
        out = []
        for row, p_row in zip(best, listing):
            label, score, flagged = decide(p_row, self.classes, self.threshold)
            result = {"label": label, "score": round(score, 4), "flagged": flagged,
                      "scores": {c: round(float(p), 4) for c, p in zip(self.classes, p_row)},
                      "model_version": self.version}
            if explain_top and (flagged or explain_benign):
                result["explanation"] = explain(self, b, row, X[row], label, explain_top)
            else:
                result["explanation"] = []
            out.append(result)
        return out


@functools.lru_cache(maxsize=4)
def shared(path: str = str(artifact.DEFAULT_MODEL)) -> Classifier:
    """One Classifier per process and path (pipelines of several spiders share it)."""
    return Classifier.load(path)
