"""The classifier outside the closed world: boilerplate around an offer, ordinary text, short words.

Floors are checked on sets the model never trains on: the frozen split's ordinary rows (or a
background sample the lead keeps in classifier/eval/ as bg_*.jsonl), the independent
holdout diluted with the evaluation-only boilerplate bank (classifier/eval/boilerplate.jsonl).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.corpus import load_corpus, read_jsonl, split
from classifier.evaluate import background, boilerplate_bank, dilute, dilution_report, evaluate, predict_all
from classifier.predict import Classifier
from tests.conftest import sweep

EVAL = Path(__file__).resolve().parent.parent / "classifier" / "eval"
HOLDOUT = EVAL / "h1_holdout.jsonl"
# The lead's benign-only background samples (bg_*.jsonl: public ordinary prose held out of the corpus);
# where none exist yet, the frozen split's ordinary (not hard-negative) benign rows stand in.
BACKGROUND = sorted(EVAL.glob("bg_*.jsonl"))
# The large ordinary streams (public UI messages, user help and browser/mail UI: p3, p4, b1 in
# docs/corpus-format.md) each keep their own floor just above the FPR measured with model
# 20261207-3ce0504a: 2 of 5,654, 0 of 991 and 0 of 4,200 flagged.
LARGE_BACKGROUND_FPR = {"bg_app_messages.jsonl": 0.0006, "bg_help_pages.jsonl": 0.0011,
                        "bg_mozilla_ui.jsonl": 0.0003}
REAL_PUBLIC = EVAL / "real_public.jsonl"      # real third-party texts, evaluation only (docs/corpus-format.md)
REAL_PUBLIC_2 = EVAL / "real_public_2.jsonl"  # a second set: confirmatory in session 6, a development set since
REAL_PUBLIC_3 = EVAL / "real_public_3.jsonl"  # a third set: confirmatory in session 7, a development set since
REAL_PUBLIC_4 = EVAL / "real_public_4.jsonl"  # a fourth set: confirmatory in session 8, a development set since
REAL_PUBLIC_5 = EVAL / "real_public_5.jsonl"  # a fifth set: confirmatory in session 9, a development set since
REAL_PUBLIC_6 = EVAL / "real_public_6.jsonl"  # a sixth set: confirmatory in session 10, its errors read after
REAL_PUBLIC_7 = EVAL / "real_public_7.jsonl"  # a seventh set: confirmatory in session 10, a development set since
REAL_PUBLIC_8 = EVAL / "real_public_8.jsonl"  # an eighth, confirmatory set (session 11): repository texts, scored once
REAL_PUBLIC_9 = EVAL / "real_public_9.jsonl"  # a ninth, confirmatory set (session 11): web pages, scored once
REAL_PUBLIC_F1 = 0.93    # measured 0.973 on its 60 rows (sessions 8-10); session 7: 0.919, session 6: 0.895
REAL_PUBLIC_2_F1 = 0.95  # measured 1.0 on its 66 rows (session 10); session 9: 0.927, session 8: 0.884
REAL_PUBLIC_3_F1 = 0.89  # measured 0.929 (P 0.96, R 0.90) on its 80 rows (session 10); session 9: 0.800
REAL_PUBLIC_4_F1 = 0.88  # measured 0.923 (P 1.0, R 0.86) on its 82 rows (session 10); session 9: 0.853
REAL_PUBLIC_5_F1 = 0.79  # measured 0.827 (P 0.89, R 0.78) on its 90 rows (session 10); once in session 9: 0.800
REAL_PUBLIC_6_F1 = 0.76  # measured once, 0.800 (P 0.81, R 0.79) on its 82 rows; session 9's model: 0.754
REAL_PUBLIC_7_F1 = 0.75  # measured once, 0.791 (P 0.77, R 0.81) on its 63 rows; session 9's model: 0.769
REAL_PUBLIC_8_F1 = 0.68  # measured once, 0.714 (P 0.75, R 0.68) on its 60 rows (session 11, model 20261207-7f2f6197)
REAL_PUBLIC_9_F1 = 0.75  # measured once, 0.789 (P 0.88, R 0.71) on its 65 rows (session 11, the same model)
TERSE = EVAL / "t1_terse.jsonl"   # 162 listings of 5-60 characters, written apart (session 7); dev set since session 8
TERSE_F1 = 0.95                   # measured 0.975 (P 1.0, R 0.95) in session 9; 0.954 in sessions 7 and 8


@pytest.fixture(scope="module")
def model(model_path) -> Classifier:
    return Classifier.load(model_path)


def _background_rows() -> list[dict]:
    if BACKGROUND:
        return [r for path in BACKGROUND for r in read_jsonl(path)]
    return [r for r in split(load_corpus())[1] if r["label"] == "benign" and not r.get("hard_negative")]


def test_boilerplate_bank_is_not_training_text():
    corpus = "\n".join(f"{r['title']}\n{r['description']}" for r in load_corpus())
    assert all(b["text"] not in corpus for b in boilerplate_bank())


def test_ordinary_text_is_rarely_flagged(model):
    rows = _background_rows()
    report = background(rows, predict_all(model, rows))
    assert report["n"] >= 40
    assert report["fpr"] <= 0.02, report["examples"]


@pytest.mark.parametrize("name", sorted(LARGE_BACKGROUND_FPR))
def test_large_ordinary_streams_are_rarely_flagged(model, name):
    rows = read_jsonl(EVAL / name)
    report = background(rows, predict_all(model, rows))
    assert report["n"] >= 900
    assert report["fpr"] <= LARGE_BACKGROUND_FPR[name], report["examples"]


def test_boilerplate_cannot_hide_an_offer(model):
    rows = [r for r in read_jsonl(HOLDOUT) if r["label"] != "benign"]
    diluted = dilute(rows, boilerplate_bank(), lengths=(0, 250, 1000), positions=("before", "after", "both"))
    report = dilution_report(diluted, predict_all(model, [d[2] for d in diluted]))
    assert report["0"]["recall"] >= 0.9
    assert report["250"]["recall"] >= 0.85, report
    assert report["1000"]["recall"] >= 0.8, report


def test_one_offer_sentence_in_a_long_page_is_found_and_explained(model):
    shop = "".join(b["text"] for b in boilerplate_bank() if b["kind"] == "ecommerce")
    offer = "另出呼死你软件，包月不限次数，懂的来 QQ 123456789。"
    record = {"title": "店铺上新 全场八折", "description": shop[:900] + offer + shop[900:], "kind": "ecommerce"}
    (result,) = model.predict([record])
    assert result["flagged"] and result["label"] == "call_bomber"
    start = record["description"].index(offer)
    spans = [s for f in result["explanation"] for s in f["spans"] if s["field"] == "description"]
    assert spans and all(start - 200 <= s["start"] <= start + len(offer) + 200 for s in spans)
    assert any(start <= s["start"] < start + len(offer) for s in spans)


@pytest.mark.parametrize("text", ["SMS", "短信", "电话", "晚上有电话来！！ 一个字，烦！！",
                                  "挺好的机器，很漂亮！电脑买联想没错！", "淡季携程的价格也蛮有诱惑力的"])
def test_short_generic_text_is_not_flagged(model, text):
    (result,) = model.predict([{"title": text, "description": ""}])
    assert not result["flagged"] and result["score"] < 0.5


def test_lookalike_letters_score_like_the_plain_spelling(model):
    plain, disguised = model.predict([{"title": "GoIP-16 网关 二手", "description": "16路 插卡 语音网关"},
                                      {"title": "GоIР-16 网关 二手", "description": "16路 插卡 语音网关"}])
    assert disguised["score"] == pytest.approx(plain["score"], abs=0.01) and disguised["flagged"]


def test_evaluate_background_and_dilute(model_path, tmp_path):
    rows = list(read_jsonl(HOLDOUT))[:60]
    src, bg = tmp_path / "labelled.jsonl", tmp_path / "bg.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    ordinary = [{"title": "猫粮 10kg", "description": "鸡肉味 成猫通用，包邮"},
                {"title": "二手笔记本", "description": "<b>成色</b>新"}]
    bg.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ordinary) + "{broken\n", encoding="utf-8")
    proc = sweep("evaluate", "--in", str(src), "--background", str(bg), "--dilute", "--json", str(tmp_path / "r.json"),
                 "--png", str(tmp_path / "r.png"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["background"]["n"] == 2 and len(report["background"]["ci95"]) == 2
    assert set(report["dilution"]) >= {"0", "100", "250", "500", "1000", "250/before", "250/after", "250/both"}
    assert set(report["at_prevalence"]["precision"]) == {"0.01", "0.001"}
    assert "Diluted recall" in proc.stdout and "Precision at prevalence" in proc.stdout
    assert "line 3: not JSON" in proc.stderr and "1 malformed line(s) skipped" in proc.stderr
    harmful = tmp_path / "harmful.jsonl"
    harmful.write_text(json.dumps({"id": "x", "title": "呼死你", "description": "", "label": "call_bomber"},
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    bad = sweep("evaluate", "--in", str(src), "--background", str(harmful), check=False)
    assert bad.returncode != 0 and "benign-only" in bad.stderr



@pytest.mark.parametrize("path", [REAL_PUBLIC, REAL_PUBLIC_2, REAL_PUBLIC_3, REAL_PUBLIC_4, REAL_PUBLIC_5,
                                  REAL_PUBLIC_6, REAL_PUBLIC_7, REAL_PUBLIC_8, REAL_PUBLIC_9], ids=lambda p: p.stem)
def test_real_public_set_is_evaluation_only_prose_with_sources(path):
    rows = read_jsonl(path)
    assert len(rows) >= 40 and {r["label"] == "benign" for r in rows} == {True, False}
    assert all(r.get("source") for r in rows)
    corpus = "\n".join(f"{r['title']}\n{r['description']}" for r in load_corpus())
    for r in rows:
        text = f"{r['title']}\n{r['description']}"
        assert "://" not in text and len(text) <= 1600, r["id"]
        # never copied into training (a body as short as "RT", "as in the title", is judged with its title)
        assert (r["description"] if len(r["description"]) >= 20 else text)[:80] not in corpus, r["id"]


@pytest.mark.parametrize("path, floor", [(REAL_PUBLIC, REAL_PUBLIC_F1), (REAL_PUBLIC_2, REAL_PUBLIC_2_F1),
                                         (REAL_PUBLIC_3, REAL_PUBLIC_3_F1), (REAL_PUBLIC_4, REAL_PUBLIC_4_F1),
                                         (REAL_PUBLIC_5, REAL_PUBLIC_5_F1), (REAL_PUBLIC_6, REAL_PUBLIC_6_F1),
                                         (REAL_PUBLIC_7, REAL_PUBLIC_7_F1), (REAL_PUBLIC_8, REAL_PUBLIC_8_F1),
                                         (REAL_PUBLIC_9, REAL_PUBLIC_9_F1)],
                         ids=["real_public", "real_public_2", "real_public_3", "real_public_4", "real_public_5",
                              "real_public_6", "real_public_7", "real_public_8", "real_public_9"])
def test_real_public_texts(model, path, floor):
    rows = read_jsonl(path)
    report = evaluate(rows, predict_all(model, rows))
    assert report["binary"]["f1"] >= floor, report["binary"]


def test_terse_listings_are_evaluation_only():
    rows = read_jsonl(TERSE)
    assert len(rows) >= 150 and all(len(r["title"] + r["description"]) <= 60 for r in rows)
    corpus = {(r["title"], r["description"]) for r in load_corpus()}
    assert not [r["id"] for r in rows if (r["title"], r["description"]) in corpus]


def test_terse_listings(model):
    """Title-only offers ("电话轰炸 包月") are flagged and short ordinary or news titles are not:
    short text is shrunk, not silenced."""
    rows = read_jsonl(TERSE)
    report = evaluate(rows, predict_all(model, rows))
    assert report["binary"]["f1"] >= TERSE_F1, report["binary"]
    assert report["binary"]["precision"] >= 0.95, report["binary"]


@pytest.mark.parametrize("record", [
    {"title": "二手自行车 九成新 有意 QQ 123451234", "description": ""},
    {"title": "搬家出 书桌 衣柜", "description": "自提，价格好商量，微信 abc_demo"},
    {"title": "周末家教 小学数学", "description": "师范在读，联系电话 138-0000-0000，白天上课不方便接电话请发短信"},
    {"title": "布偶猫找新家", "description": "已打疫苗，有意私聊"},
    {"title": "出闲置路由器", "description": "千兆双频，功能正常。QQ 12345 6789"},
])
def test_a_contact_alone_does_not_make_an_offer(model, record):
    (result,) = model.predict([record])
    assert not result["flagged"], result
