"""Operating threshold rules, on out-of-fold listing scores.

- ``choose_threshold``: the lowest threshold whose flags keep a precision on the corpus's own mix.
- ``hard_negative_threshold``: the lowest threshold whose flags keep the rate of texts *about* the
  tools (news, victims, security work, legitimate hardware) under a limit.
- ``prevalence_threshold``: the lowest threshold at which precision at a stated prevalence,
  TPR·π / (TPR·π + FPR·(1−π)), reaches a target. TPR is measured on the harmful listings; FPR on
  ordinary text is an ``OrdinaryTail`` estimate, not the count of ordinary listings above the
  threshold: at 1 % prevalence and precision 0.9 the allowed FPR is ~0.1 %, i.e. about five of the
  corpus's ~5,000 ordinary listings, so the raw count made the threshold the fifth-highest ordinary
  score — it moved with every data change and fold split (0.80–0.89 over five trainings).
"""
from __future__ import annotations

import numpy as np

TAIL_SHARE = 0.02      # the top 2 % of the ordinary pool (~100 listings) fit the tail ...
TAIL_MIN = 30          # ... and never fewer than this many
LOW, HIGH = 0.05, 0.95


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class OrdinaryTail:
    """FPR(t) of ordinary text, smooth in t: the empirical rate below the tail's start; above it an
    exponential tail of logit scores (peaks over threshold: rate at the start × exp(−excess / mean
    excess)), fitted on the top ``share`` of the pool rather than its last few order statistics."""

    def __init__(self, scores, share: float = TAIL_SHARE, min_rows: int = TAIL_MIN):
        z = np.sort(logit(scores))[::-1]
        self.n = len(z)
        k = min(max(min_rows, int(share * self.n)), self.n - 1)
        self.z, self.k = z, k
        self.start = float(z[k]) if self.n else 0.0
        self.rate = k / self.n if self.n else 0.0
        self.scale = max(float(np.mean(z[:k] - self.start)), 1e-3) if k > 0 else 1e-3

    def __call__(self, t: float) -> float:
        if self.n == 0:
            return 0.0
        zt = float(logit(t))
        if zt <= self.start:
            return float(np.mean(self.z >= zt))
        return self.rate * float(np.exp(-(zt - self.start) / self.scale))


def choose_threshold(scores: np.ndarray, harmful: np.ndarray, precision: float) -> float:
    """The lowest score threshold whose flags keep ``precision`` on out-of-fold predictions."""
    order = np.argsort(-scores)
    s, h = scores[order], harmful[order]
    tp = np.cumsum(h)
    prec = tp / np.arange(1, len(s) + 1)
    ok = np.nonzero(prec >= precision)[0]
    if len(ok) == 0:
        return 0.5
    # Last position where the running precision still holds; ties broken towards stricter.
    return float(max(LOW, min(HIGH, s[ok[-1]])))


def hard_negative_threshold(scores: np.ndarray, hard: np.ndarray, limit: float) -> float:
    """The lowest threshold at which at most ``limit`` of the hard negatives (as counted) are flagged."""
    s = np.sort(scores[hard])[::-1]
    if not len(s):
        return LOW
    allowed = int(np.floor(limit * len(s)))          # this many may score at or above the threshold
    if allowed >= len(s):
        return LOW
    above = s[allowed]                                # the first that must fall below it
    return float(max(LOW, min(HIGH, np.nextafter(above, 1.0))))


def flag_rate(scores: np.ndarray, rows: np.ndarray, t: float) -> float:
    """Share of ``rows`` (a mask) flagged at ``t``, as counted; 0 when the mask is empty."""
    return float(np.mean(scores[rows] >= t)) if rows.any() else 0.0


def rates(scores: np.ndarray, harmful: np.ndarray, ordinary: np.ndarray, t: float) -> tuple[float, float]:
    """(TPR on harmful, FPR on ordinary benign) of flagging at ``t``, both as counted."""
    return float(np.mean(scores[harmful] >= t)), flag_rate(scores, ordinary, t)


def prevalence_threshold(scores, harmful, ordinary, prevalence: float, precision: float) -> float:
    """The lowest threshold whose precision at ``prevalence`` (measured TPR, ``OrdinaryTail`` FPR)
    is >= ``precision``; HIGH when none is."""
    tail = OrdinaryTail(scores[ordinary])
    pos = np.sort(scores[harmful])
    for t in np.unique(scores):
        tpr = 1.0 - np.searchsorted(pos, t, side="left") / max(1, len(pos))
        fpr = tail(t)
        if tpr > 0 and tpr * prevalence / (tpr * prevalence + fpr * (1 - prevalence)) >= precision:
            return float(max(LOW, min(HIGH, t)))
    return HIGH
