"""Short-text shrinking: a segment with little text is not enough evidence of an offer on its own, but
one whose model is sure keeps a score the listing context can still flag."""
from __future__ import annotations

import numpy as np
import pytest

from classifier.predict import MIN_EVIDENCE, SHORT_PRIOR, shrink, shrink_harmful


def test_long_segments_are_unchanged():
    p = np.array([0.0, 0.003, 0.5, 0.97, 1.0])
    assert np.array_equal(shrink_harmful(p, np.full(5, MIN_EVIDENCE)), p)
    assert np.array_equal(shrink_harmful(p, np.full(5, 400)), p)


def test_shorter_is_weaker_and_nothing_is_raised():
    p = np.linspace(0.0, 1.0, 41)
    previous = p
    for evidence in range(MIN_EVIDENCE - 1, -1, -1):
        shrunk = shrink_harmful(p, np.full(len(p), evidence))
        assert np.all(shrunk <= previous + 1e-12) and np.all(shrunk <= p)
        assert np.all(np.diff(shrunk) >= -1e-12)        # still ordered by the model's score
        previous = shrunk
    assert np.all(shrink_harmful(p, np.zeros(len(p))) <= SHORT_PRIOR + 1e-12)


def test_a_sure_short_offer_keeps_its_log_odds_where_scaling_capped_it():
    # "电话轰炸 包月": 6 characters, the segment model sure. Scaling by 6/8 capped it at 0.75 (log-odds
    # 1.1) however sure the model was; pooling log-odds keeps it far above that.
    sure = np.array([0.9999])
    assert shrink_harmful(sure, np.array([6]), prior=None)[0] == pytest.approx(0.75, abs=1e-3)
    assert shrink_harmful(sure, np.array([6]))[0] > 0.99
    # A bare word stays weak: "短信" (2 characters) at 0.99 ends below one half.
    assert shrink_harmful(np.array([0.99]), np.array([2]))[0] < 0.5


def test_class_probabilities_keep_their_split_and_sum_to_one():
    proba = np.array([[0.1, 0.6, 0.3], [1.0, 0.0, 0.0], [0.02, 0.49, 0.49]])      # benign is column 0
    out = shrink(proba, np.array([3, 3, 20]), benign=0)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert out[0, 1] / out[0, 2] == pytest.approx(2.0) and out[0, 0] > 0.1
    assert np.array_equal(out[1], proba[1]) and np.allclose(out[2], proba[2])
