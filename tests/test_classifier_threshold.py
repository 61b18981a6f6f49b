"""The operating threshold at a stated prevalence (classifier/threshold.py)."""
import numpy as np

from classifier.threshold import OrdinaryTail, prevalence_threshold


def _pool(seed=0):
    rng = np.random.default_rng(seed)
    ordinary_logits = np.sort(rng.logistic(size=5000) - 5)          # known tail: P(z >= x) = 1 / (1 + e^(x+5))
    harmful = 1 / (1 + np.exp(-(rng.normal(size=1000) * 1.5 + 3)))
    return ordinary_logits, harmful


def test_tail_estimates_a_rate_beyond_the_last_few_ordinary_rows():
    z, _ = _pool()
    tail = OrdinaryTail(1 / (1 + np.exp(-z)))
    for t in (0.7, 0.8, 0.9, 0.95):
        truth = 1 / (1 + np.exp(np.log(t / (1 - t)) + 5))
        assert 0.7 * truth <= tail(t) <= 1.3 * truth, (t, tail(t), truth)
    grid = np.linspace(0.5, 0.99, 200)
    fpr = np.asarray([tail(t) for t in grid])
    assert np.all(np.diff(fpr) <= 0) and fpr[-1] > 0      # decreasing, and never "no false positive at all"


def test_threshold_does_not_jump_with_the_top_few_ordinary_rows():
    # Clearing the highest ordinary scores one at a time (a data fix, a new fold split) moved the
    # counted rule's threshold by up to 0.06 in one step (it was the fifth-highest ordinary score).
    z, harmful = _pool()
    is_harmful = np.r_[np.ones(len(harmful), bool), np.zeros(len(z), bool)]
    thresholds = []
    for cleared in range(7):
        zz = z.copy()
        zz[len(zz) - cleared:] = -8.0
        scores = np.r_[harmful, 1 / (1 + np.exp(-zz))]
        thresholds.append(prevalence_threshold(scores, is_harmful, ~is_harmful, 0.01, 0.9))
    steps = np.abs(np.diff(thresholds))
    assert steps.max() <= 0.02, thresholds
    assert thresholds[0] > thresholds[-1]                  # fewer high-scoring ordinary rows, lower threshold


def test_hard_negative_threshold_is_the_lowest_that_flags_at_most_the_limit():
    from classifier.threshold import HIGH, LOW, hard_negative_threshold

    rng = np.random.default_rng(1)
    scores = rng.random(1000) * 0.9                     # below the cap: every limit is reachable
    hard = rng.random(1000) < 0.4
    for limit in (0.0, 0.01, 0.05, 0.2):
        t = hard_negative_threshold(scores, hard, limit)
        allowed = int(limit * hard.sum())
        assert (scores[hard] >= t).sum() <= allowed, (limit, t)
        below = scores[hard][scores[hard] < t].max()    # the next lower threshold flags one too many
        assert (scores[hard] >= below).sum() > allowed
    assert hard_negative_threshold(scores, np.zeros(1000, bool), 0.01) == LOW
    assert hard_negative_threshold(np.full(10, 0.99), np.ones(10, bool), 0.0) == HIGH    # capped, as the others
