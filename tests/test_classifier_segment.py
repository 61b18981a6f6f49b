"""classifier.segment: units keep their offsets, segments stay short, windows cover every sentence."""
from __future__ import annotations

import pytest

from classifier.evaluate import dilute, precision_at_prevalence, wilson
from classifier.features import STRUCTURAL_NAMES
from classifier.segment import MAX_SEGMENT, MAX_UNIT, segments, units

LONG = {"title": "【官方正品】8口 猫池 设备",
        "description": "本店所有商品均为实物拍摄。" * 6 + "多卡多待，接码专用，支持群发。\n"
                       + "满99元包邮，偏远地区除外！" * 8}


@pytest.mark.parametrize("record", [
    LONG,
    {"title": "挺好的机器，很漂亮！电脑买联想没错！", "description": ""},
    {"title": "", "description": "没有标点的一长段文字" * 40},
    {"title": "SMS", "description": "a b c d " * 100},
    {"title": "x" * 300, "description": "。。。！！！\n\n；；"},
])
def test_units_point_at_the_original_text(record):
    found = units(record)
    assert found, "a listing with text has units"
    for u in found:
        assert record[u.field][u.start:u.end] == u.text and u.text.strip()
        assert len(u.text) <= MAX_UNIT
    starts = [(u.field != "title", u.start) for u in found]
    assert starts == sorted(starts)                          # in reading order, no overlap
    assert all(a.end <= b.start for a, b in zip(found, found[1:]) if a.field == b.field)


def test_segments_title_head_and_windows():
    us = units(LONG)
    segs = segments(us)
    assert segs[0] == (0,)                                   # the title alone
    assert 0 in segs[1] and len(segs[1]) > 1                 # the head: title + leading description
    for seg in segs:
        assert sum(len(us[i].text) for i in seg) <= MAX_SEGMENT
    offer = next(i for i, u in enumerate(us) if "接码专用" in u.text)
    assert any(offer in seg and len(seg) == 2 for seg in segs)   # the offer read with a neighbour
    assert len(segs) == len(set(segs))


def test_short_listing_is_one_whole_segment_plus_its_title():
    us = units({"title": "呼死你 包月", "description": "不限次数，懂的来 QQ 123456789"})
    assert segments(us) == [(0,), (0, 1), (1,)]              # title, whole listing, description


def test_empty_listing_has_no_units():
    assert units({"title": "", "description": None}) == []
    assert segments([]) == []


def test_wilson_interval():
    lo, hi = wilson(0, 1000)
    assert lo == 0.0 and 0.003 < hi < 0.0045                 # the rule of three, roughly
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.404, abs=0.001) and hi == pytest.approx(0.596, abs=0.001)


def test_precision_at_prevalence():
    assert precision_at_prevalence(0.9, 0.0, 0.01) == 1.0
    # 1 % harmful, TPR 0.9, FPR 1 %: as many false alarms as true ones
    assert precision_at_prevalence(0.9, 0.01, 0.01) == pytest.approx(0.9 * 0.01 / (0.9 * 0.01 + 0.01 * 0.99))
    assert precision_at_prevalence(0.9, 0.001, 0.001) < precision_at_prevalence(0.9, 0.001, 0.01)


def test_dilute_adds_boilerplate_and_keeps_the_offer():
    rows = [{"id": "h", "label": "call_bomber", "kind": "ecommerce", "title": "t", "description": "OFFER"},
            {"id": "b", "label": "benign", "kind": "ecommerce", "title": "t", "description": "x"}]
    bank = [{"kind": "ecommerce", "text": "包邮。" * 10}, {"kind": "forum", "text": "顶。" * 10}]
    out = dilute(rows, bank, lengths=(0, 100, 250), positions=("before", "after", "both"))
    assert [(n, p) for n, p, _ in out] == [(0, "none"), (100, "before"), (100, "after"), (100, "both"),
                                           (250, "before"), (250, "after"), (250, "both")]
    for length, _position, row in out:
        assert row["id"] == "h" and "OFFER" in row["description"]
        assert len(row["description"]) >= length
        assert "顶" not in row["description"]                 # snippets of the listing's own kind
    assert out[1][2]["description"].endswith("OFFER") and out[2][2]["description"].startswith("OFFER")


def test_threshold_is_chosen_for_precision_at_the_stated_prevalence():
    import numpy as np

    from classifier.train import prevalence_threshold

    scores = np.asarray([0.9] * 90 + [0.6] * 10 + [0.1] * 990 + [0.7] * 10)
    harmful = np.asarray([True] * 100 + [False] * 1000)
    ordinary = ~harmful
    # on a 50/50 mix 0.6 is fine (1 % FPR barely matters) ...
    assert prevalence_threshold(scores, harmful, ordinary, 0.5, 0.9) == 0.6
    # ... at 1 in 100 the ten ordinary rows at 0.7 would be half the flags: only 0.9 keeps precision
    assert prevalence_threshold(scores, harmful, ordinary, 0.01, 0.9) == 0.9


def test_the_listing_row_is_the_sum_of_its_units():
    import numpy as np

    from classifier.features import STRUCTURAL_NAMES
    from classifier.model import build_pipeline
    from classifier.segment import batch

    counts = build_pipeline()[:2].fit([LONG])[1]
    records = [LONG, {"title": "", "description": ""}, {"title": "猫粮 10kg", "description": "QQ 123456789 鸡肉味"}]
    b = batch(records, counts)
    assert b.doc.shape == (3, b.X.shape[1])
    whole = counts.transform([{"norm": "", "words": [w for d in b.unit_docs[0] for w in d["words"]],
                               "pinyin": [], "cues": []}])
    n_words = dict(counts.transformer_list)["words"].n_features
    assert np.allclose(b.doc[0, :n_words].toarray(), whole[:, :n_words].toarray())   # every unit, summed
    assert b.doc[1].nnz == 0 and b.doc_evidence[1] == 0                             # empty listing: empty row
    assert b.doc[2, -len(STRUCTURAL_NAMES)] == 1.0                                 # has_contact: its QQ number
    assert list(b.doc_evidence) == [sum(len(d["norm"].replace(" ", "")) for d in docs) for docs in b.unit_docs]


def test_padded_copies_keep_the_offer_and_pad_with_ordinary_training_text():
    import numpy as np

    from classifier.train import padded_copies

    rows = [{"id": "h1", "label": "call_bomber", "title": "呼死你", "description": "包月不限次数 QQ 123456789"},
            {"id": "o1", "label": "benign", "title": "猫粮", "description": "鸡肉味成猫通用。满99元包邮。"},
            {"id": "n1", "label": "benign", "hard_negative": "news", "title": "警方",
             "description": "警方提醒：呼死你违法。"}]
    copies, of = padded_copies(rows, np.random.default_rng(0), lengths=(100, 200))
    assert list(of) == [0] and len(copies) == 1                                    # harmful rows only
    (copy,) = copies
    assert copy["label"] == "call_bomber" and copy["title"] == "呼死你" and copy["id"] == "h1~padded"
    assert rows[0]["description"] in copy["description"]
    pad = copy["description"].replace(rows[0]["description"], "")
    assert 100 <= len(pad) <= 202 and "警方" not in pad and "鸡肉味" in pad


def _varied_records(n: int = 300) -> list[dict]:
    import random

    from classifier.corpus import load_corpus

    rows = load_corpus()
    rng = random.Random(5)
    out = [dict(r) for r in rng.sample(rows, n)]
    for _ in range(20):                                    # long pages: several listings run together
        parts = rng.sample(rows, 8)
        out.append({"title": parts[0]["title"], "description": "\n".join(p["description"] for p in parts)})
    boiler = "满99元包邮，偏远地区除外，新疆西藏青海需补运费差价！七天无理由退换货，人为损坏不在此列。"
    out += [{"title": r["title"], "description": f"{boiler}{r['description']}\n{boiler}"} for r in out[:20]]
    out += [{}, {"title": None, "description": ""}, {"title": b"\xe5\x91\xbc\xff", "description": 7},
            {"title": "", "description": "。。。\n\n"},
            {"title": "<b>呼-死-你</b>", "description": "加v abc_demo 🐱池"}]
    return out


def test_batch_rows_equal_a_straightforward_reference():
    # Reference: every unit through the fitted "counts" FeatureUnion (sklearn's own HashingVectorizer
    # and structural()), a segment = its units' channel counts summed + structural() of their cues' union.
    import numpy as np
    from scipy import sparse

    from classifier.features import context, prepare_text, structural
    from classifier.predict import shared
    from classifier.segment import batch

    counts = shared().pipeline.named_steps["counts"]
    records = _varied_records()
    b = batch(records, counts)
    texts = [u.text for r in records for u in units(r)]
    assert len(set(texts)) < len(texts) - 20                      # repeated units: prepared once, counted each time
    width = b.X.shape[1] - len(STRUCTURAL_NAMES)
    seg_rows, doc_rows = [], []
    for record in records:
        docs = [prepare_text(u.text) for u in units(record)]
        per_unit = counts.transform(docs) if docs else None

        def row(idx):
            chan = (sum((per_unit[i, :width] for i in idx), sparse.csr_matrix((1, width))) if idx
                    else sparse.csr_matrix((1, width)))
            cues = sorted({c for i in idx for c in docs[i]["cues"]})
            return sparse.hstack([chan, structural([context(record, cues)])], format="csr")

        seg_rows += [row(seg) for seg in (segments(units(record)) or [()])]
        doc_rows.append(row(list(range(len(docs)))))
    assert (b.X != sparse.vstack(seg_rows, format="csr")).nnz == 0
    assert (b.doc != sparse.vstack(doc_rows, format="csr")).nnz == 0
    per_listing = [len(segments(units(r)) or [()]) for r in records]
    assert np.array_equal(b.owner, np.repeat(np.arange(len(records)), per_listing))
