"""Feature extraction and the listing context's parts, on real components (no trained model needed)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from classifier.estimator import VIEWS, ListingContext
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
                                    [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0],
                                    [0, 0, 1, 1], [0, 0, 1, 1]], dtype=float))
    y = np.array(["call_bomber", "call_bomber", "sms_bomber", "sms_bomber", "call_bomber", "sms_bomber",
                  "benign", "benign", "benign", "benign"])
    hard_negative = np.array([""] * 6 + ["news", "news", "legit_sms", "legit_hardware"])
    original = np.array([True] * 4 + [False, False] + [True] * 4)
    ctx = ListingContext(cv=2).fit_views(X, y, hard_negative, original)
    assert ctx.category_.coef_.shape[-1] == 4 and not np.any(ctx.category_.coef_[..., 3])
    assert list(ctx.category_.classes_) == ["call_bomber", "sms_bomber"]
    assert ctx.context(X).shape == (10, 1 + len(VIEWS))


def test_listing_views_read_their_own_rows_and_targets():
    # Four kinds of listing, each with its own word (column): offers, ordinary pages, legitimate
    # documentation, news. The offer view never sees ordinary pages, so their word gets no weight there.
    kinds = [("sms_bomber", "", 0), ("call_bomber", "", 0), ("benign", "", 1), ("benign", "", 1),
             ("benign", "legit_sms", 2), ("benign", "legit_sms", 2), ("benign", "news", 3), ("benign", "news", 3)]
    rows = [k for k in kinds for _ in range(3)]
    X = sparse.csr_matrix(np.eye(4)[[col for _, _, col in rows]])
    y = np.array([label for label, _, _ in rows])
    hard_negative = np.array([hn for _, hn, _ in rows])
    ctx = ListingContext(cv=3).fit_views(X, y, hard_negative, np.ones(len(rows), bool))
    probe = sparse.csr_matrix(np.eye(4))
    p = dict(zip(["report", *VIEWS], ctx.context(probe).T))
    assert p["report"][2] > 0.5 and p["report"][3] > 0.5 and p["report"][0] < 0.5 and p["report"][1] < 0.5
    assert p["legit"][2] > 0.5 > p["legit"][3] and p["about"][3] > 0.5 > p["about"][2]
    assert p["offer"][0] > 0.5 > p["offer"][3]
    offer_weights = ctx.views_["offer"].calibrated_classifiers_[0].estimator.coef_.ravel()
    assert offer_weights[1] == 0 and offer_weights[0] > 0


def test_channel_tfidf_matches_a_per_channel_reference():
    from sklearn.preprocessing import normalize

    from classifier.features import ChannelTfidf

    widths, n_struct = (40, 60, 30), 6
    rng = np.random.default_rng(3)
    dense = np.ceil(rng.random((300, sum(widths) + n_struct)) * 5) * (rng.random((300, sum(widths) + n_struct)) < 0.08)
    dense[:, sum(widths):] = dense[:, sum(widths):] > 0           # structure flags 0/1, counts 1..5 elsewhere
    dense[7] = 0                                                  # an empty row
    X = sparse.csr_matrix(dense)
    t = ChannelTfidf(widths=widths, min_df=(1, 3, 2)).fit(X)
    got = t.transform(X).toarray()
    start, parts = 0, []
    for width, min_df in zip(widths, (1, 3, 2)):
        block = dense[:, start:start + width]
        df = (block > 0).sum(axis=0)
        idf = np.log((1 + len(block)) / (1 + df)) + 1.0
        idf[df < min_df] = 0.0
        tf = np.where(block > 0, 1.0 + np.log(np.where(block > 0, block, 1.0)), 0.0)
        parts.append(normalize(tf * idf))
        start += width
    want = np.hstack([*parts, dense[:, start:]])
    assert np.allclose(got, want, rtol=0, atol=1e-12)
    assert not np.any(got[7])


def test_stacker_discounts_a_saturated_sentence_in_a_report_more_than_a_linear_stack_can():
    # Out-of-fold-like inputs: offers have a saturated strongest sentence and a low report register;
    # explainers have the same saturated sentence and a high register; ordinary pages neither.
    rng = np.random.default_rng(0)
    n = 400
    offer_seg, offer_rep = rng.uniform(0.95, 0.9999, n), rng.uniform(0.02, 0.5, n)
    expl_seg, expl_rep = rng.uniform(0.99, 0.9999, n), rng.uniform(0.6, 0.98, n)
    doubt_seg, doubt_rep = rng.uniform(0.5, 0.9, n), rng.uniform(0.6, 0.98, n)     # doubtful, report-like
    seg = np.r_[offer_seg, expl_seg, doubt_seg, rng.uniform(0.0, 0.3, n)]
    rep = np.r_[offer_rep, expl_rep, doubt_rep, rng.uniform(0.0, 0.3, n)]
    harmful = np.r_[np.ones(n, bool), np.zeros(n, bool), rng.random(n) < 0.5, np.zeros(n, bool)]
    ctx = ListingContext().fit_stack(seg, rep, harmful)
    assert ctx.stack_.n_features_in_ == 3 and ctx.stack_.coef_[0, 2] < 0
    p = ctx.harmful(np.array([0.999, 0.999, 0.7]), np.array([0.1, 0.9, 0.9]))
    assert p[0] > 0.9 and p[1] < 0.5 and p[1] < p[2] + 0.3


def test_a_view_with_too_few_rows_to_calibrate_is_its_base_rate():
    # A small corpus of one's own: offers, ordinary pages and two news rows, no legitimate docs at all.
    kinds = ([("sms_bomber", "", 0)] * 4 + [("call_bomber", "", 0)] * 4 + [("benign", "", 1)] * 8
             + [("benign", "news", 2)] * 2)
    X = sparse.csr_matrix(np.eye(3)[[col for _, _, col in kinds]])
    y = np.array([label for label, _, _ in kinds])
    ctx = ListingContext(cv=3).fit_views(X, y, np.array([hn for _, hn, _ in kinds]), np.ones(len(kinds), bool))
    p = dict(zip(["report", *VIEWS], ctx.context(sparse.csr_matrix(np.eye(3))).T))
    assert np.all(p["legit"] == 0.0)                                # no legitimate docs: never that register
    assert np.allclose(p["about"], 2 / len(kinds)) and np.allclose(p["report"], p["report"][0])  # two rows: the prior
    assert np.allclose(p["offer"], 8 / 10)                          # offers among offers and reports
    ctx.sparsify()


def test_stacker_tells_a_harmful_manual_from_an_explainer_by_the_kind_of_register():
    # Both read as "report" on the one register; the harmful device's manual reads as legitimate
    # documentation, the explainer as writing about the tools. Only the views can separate them.
    rng = np.random.default_rng(1)
    n = 400
    seg = rng.uniform(0.97, 0.9999, 2 * n)
    report = rng.uniform(0.6, 0.95, 2 * n)
    legit = np.r_[rng.uniform(0.5, 0.9, n), rng.uniform(0.0, 0.2, n)]
    about = np.r_[rng.uniform(0.0, 0.2, n), rng.uniform(0.5, 0.9, n)]
    offer = rng.uniform(0.3, 0.7, 2 * n)
    harmful = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    with_views = ListingContext().fit_stack(seg, np.column_stack([report, legit, about, offer]), harmful)
    assert with_views.stack_.n_features_in_ == len(ListingContext.feature_names(99))
    p = with_views.harmful(seg, np.column_stack([report, legit, about, offer]))
    assert (p[:n] > 0.5).mean() > 0.9 and (p[n:] < 0.5).mean() > 0.9
    register_only = ListingContext().fit_stack(seg, report, harmful)
    q = register_only.harmful(seg, report)
    assert ((q[:n] > 0.5).mean() + (q[n:] < 0.5).mean()) / 2 < 0.7


def test_stackers_from_older_artifacts_still_score():
    from sklearn.linear_model import LogisticRegression

    seg, rep = np.array([0.99, 0.1, 0.95, 0.2]), np.array([0.1, 0.1, 0.9, 0.8])
    for width in (2, 3):                   # session 8 (segment, report); session 9 (+ interaction)
        ctx = ListingContext()
        ctx.stack_ = LogisticRegression().fit(ListingContext.features(seg, rep)[:, :width], [1, 0, 1, 0])
        assert ctx.harmful(seg, rep).shape == (4,)

