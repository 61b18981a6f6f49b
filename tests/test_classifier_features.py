"""Feature extraction and the listing context's parts, on real components (no trained model needed)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from classifier.estimator import ListingContext
from classifier.features import NUMBER, char_ngrams, pinyin_ngrams, prepare_one, word_tokens
from classifier.model import build_pipeline


def _counts(record: dict):
    pipeline = build_pipeline()
    pipeline[:2].fit([record])
    return pipeline[:2].transform([record])


def test_contact_numbers_are_one_token_not_words():
    # Every fake contact in the corpus starts 12345: its digit n-grams must carry no signal.
    a = _counts({"title": "二手自行车 九成新", "description": "有意 QQ 123451234"})
    b = _counts({"title": "二手自行车 九成新", "description": "有意 QQ 987650000"})
    assert (a != b).nnz == 0
    doc = prepare_one({"title": "GoIP-16 8口", "description": "QQ 123451234 电话 138-0000-0000"})
    assert NUMBER in word_tokens(doc) and any(NUMBER in p for p in pinyin_ngrams(doc))
    grams = char_ngrams(doc)
    assert "123" not in grams and "345" not in grams
    assert "16" in word_tokens(doc) and "0000" in word_tokens(doc)     # model numbers and short groups stay


def test_listing_category_model_learns_from_original_listings_only():
    # Rows 0-3 are the corpus's harmful listings, rows 4-5 padded copies whose padding (column 3)
    # must not get a category weight.
    X = sparse.csr_matrix(np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0],
                                    [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0]], dtype=float))
    y = np.array(["call_bomber", "call_bomber", "sms_bomber", "sms_bomber", "call_bomber", "sms_bomber",
                  "benign", "benign"])
    report = np.array([False] * 6 + [True, True])
    original = np.array([True] * 4 + [False, False] + [True, True])
    ctx = ListingContext(cv=2).fit_views(X, y, report, original)
    assert ctx.category_.coef_.shape[-1] == 4 and not np.any(ctx.category_.coef_[..., 3])
    assert list(ctx.category_.classes_) == ["call_bomber", "sms_bomber"]
