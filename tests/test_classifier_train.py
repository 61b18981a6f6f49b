"""`sweep train` (with reviewer decisions), `sweep evaluate`, and jargon discovery with `sweep terms`."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from classifier import LABELS
from classifier.corpus import load_corpus
from classifier.terms import score_terms
from classifier.train import HARD_NEGATIVE_FPR, PREVALENCE_PRECISION
from classifier.tokenize import approved_terms
from crawler.items import Listing
from crawler.pipelines.normalise import NormalisePipeline
from store.db import open_db
from store.states import transition
from store.listings import Store
from tests.conftest import read_jsonl, sweep


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """A 480-row slice of the corpus, stratified by label: enough to train in seconds."""
    rows = load_corpus()
    rng = random.Random(1)
    picked = []
    for label in sorted({r["label"] for r in rows}):
        of_label = [r for r in rows if r["label"] == label]
        picked += rng.sample(of_label, 80)
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "slice.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked),
                                        encoding="utf-8")
    return folder


def _review_db(path: Path) -> Path:
    store = Store(open_db(path))
    items = []
    for n, (title, desc) in enumerate([("卡机 批发 八口", "卡机 池子 接码专用 QQ 123456789"),
                                       ("二手卡机 出", "卡机 池子 收码 多卡"), ("卡机 池子", "卡机 池子 接码 价格私聊"),
                                       ("猫粮 10kg", "鸡肉味 成猫"), ("猫爬架", "实木 稳固")]):
        item = Listing(id=f"m:{n}", platform="m", platform_id=str(n), kind="ecommerce", url=f"http://x/item/{n}",
                       title=title, description=desc, crawled_at="2026-11-27T00:00:00+00:00")
        item = NormalisePipeline().process_item(item)
        item.classification = {"label": "modem_pool", "score": 0.9, "flagged": True, "scores": {},
                               "explanation": [], "model_version": "t"}
        items.append(item)
    store.write_batch(items, None)
    db = store.db
    with db.conn:
        for n in range(3):
            transition(db.conn, f"m:{n}", "confirmed", "alice", "pool")
            db.execute("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, decided_at) "
                       "VALUES (?, 1, 'alice', 'confirmed', 'modem_pool', '', '2026-11-27')", [f"m:{n}"])
        for n in (3, 4):
            transition(db.conn, f"m:{n}", "rejected", "alice", "pet food")
            db.execute("INSERT INTO reviews (listing_id, version, reviewer, decision, category, reason, decided_at) "
                       "VALUES (?, 1, 'alice', 'rejected', NULL, 'pet food', '2026-11-27')", [f"m:{n}"])
    return path


def test_train_with_reviews_and_the_model_card(small_corpus, tmp_path):
    db = _review_db(tmp_path / "r.db")
    out = tmp_path / "model.skops"
    proc = sweep("train", "--corpus", str(small_corpus), "--out", str(out), "--with-reviews", "--db", str(db))
    assert "5 reviewer decisions added to the training split" in proc.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["n_extra"] == 5 and card["n_train"] + card["n_test"] == 480 + 5
    assert set(card["versions"]) >= {"scikit-learn", "skops", "numpy", "jieba", "python"}
    assert len(card["corpus_hash"]) == 64 and card["sha256"]
    assert 0.05 <= card["thresholds"]["flag"] <= 0.95 and set(card["thresholds"]["per_label"]) == {
        "call_bomber", "caller_id_spoof", "sms_bomber", "modem_pool", "voice_gateway"}
    # A 480-row model (quality is checked on the real one): its flags must beat flagging everything,
    # and find most offers. (F1 > 0.8 was no such check: flagging all of a 5/6-harmful split scores 0.9.)
    test = card["metrics"]["frozen_test"]
    harmful_share = 1 - test["per_label"]["benign"]["support"] / test["n"]
    assert test["binary"]["precision"] > harmful_share and test["binary"]["recall"] > 0.6, test["binary"]
    # the CLI's default is the library's: CI's `sweep train` builds what train() documents
    assert card["thresholds"]["prevalence_precision"] == PREVALENCE_PRECISION
    assert card["thresholds"]["hard_negative_fpr"] == HARD_NEGATIVE_FPR
    at = card["metrics"]["cross_validation"]["at_prevalence"]
    assert at["fpr_hard_negative"] <= HARD_NEGATIVE_FPR or card["thresholds"]["flag"] == 0.95
    plain = tmp_path / "plain.skops"
    sweep("train", "--corpus", str(small_corpus), "--out", str(plain))
    assert json.loads(plain.with_suffix(".json").read_text())["corpus_hash"] != card["corpus_hash"]
    with pytest.raises(AssertionError, match="no database"):
        sweep("train", "--corpus", str(small_corpus), "--out", str(plain), "--with-reviews", "--db",
              str(tmp_path / "none.db"))


def test_evaluate_prints_table_and_writes_json_and_png(model_path, tmp_path):
    rows = [r for r in load_corpus() if r["id"].startswith("c7-")][:100]
    rows += [r for r in load_corpus() if r.get("hard_negative") == "victim"][:20]
    src = tmp_path / "labelled.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    proc = sweep("evaluate", "--in", str(src), "--json", str(tmp_path / "r.json"), "--png", str(tmp_path / "r.png"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["n"] == 120 and set(report["per_label"]) >= {"benign", "call_bomber"}
    assert sum(map(sum, report["confusion_matrix"])) == 120
    assert {"news", "victim"} <= set(report["fp_rate_by_hard_negative"])
    assert report["recall_by_tactic"] and "binary" in report
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "binary F1" in proc.stdout and "Confusion matrix" in proc.stdout


def test_evaluate_defaults_to_the_frozen_split(model_path, tmp_path):
    proc = sweep("evaluate", "--json", str(tmp_path / "f.json"), "--png", str(tmp_path / "f.png"))
    report = json.loads((tmp_path / "f.json").read_text())
    assert report["source"].startswith("frozen test split") and report["n"] > 500
    # The suite's floors, under what the model meets on session 10's 4,914-row split at its threshold 0.756
    # (precision 0.9 at 1 % on real ordinary text, 1 % of hard negatives out of fold): 0.976 / 0.954 /
    # 0.0138 / 0.954; session 9's model, at 0.861, gave 0.968 / 0.938 / 0.013 / 0.92 on the same rows.
    # `sweep evaluate` marks the keep-targets (met since session 10) — a miss must show, not hide.
    assert report["binary"]["f1"] >= 0.96 and report["category_accuracy_on_harmful"] >= 0.93
    assert report["hard_negative_fp_rate"] <= 0.02
    assert min(v["recall"] for v in report["recall_by_tactic"].values()) >= 0.90
    assert ("✗" in proc.stdout) == (report["category_accuracy_on_harmful"] < 0.95 or report["binary"]["f1"] < 0.97)


def test_score_terms_finds_jargon_of_confirmed_listings():
    confirmed = ["卡机 池子 接码", "新到卡机 八口", "卡机批发 接码", "卡机 出"]
    others = ["猫粮 池子 清洗", "二手手机 出", "手机壳 批发"]
    ranked = [t[0] for t in score_terms(confirmed, others, min_count=3)]
    assert ranked[0] == "卡机"
    assert "猫池" not in ranked           # already in the domain dictionary


def test_terms_propose_approve_versions_the_dictionary(tmp_path):
    db = _review_db(tmp_path / "t.db")
    proc = sweep("terms", "propose", "--db", str(db), "--min-count", "3")
    assert "卡机" in proc.stdout
    terms_file = tmp_path / "approved.txt"
    sweep("terms", "approve", "卡机", "--by", "alice", "--db", str(db), "--terms-file", str(terms_file))
    assert terms_file.read_text(encoding="utf-8").startswith("# version 1\n")
    assert approved_terms(terms_file) == [("卡机", 20)]
    listed = sweep("terms", "list", "--status", "approved", "--db", str(db)).stdout
    assert "卡机\tapproved\tv1" in listed
    bad = sweep("terms", "approve", "never-proposed", "--by", "a", "--db", str(db), "--terms-file",
                str(terms_file), check=False)
    assert bad.returncode != 0 and "not proposed: never-proposed" in bad.stderr
    rows = open_db(db).execute("SELECT version, created_by FROM term_versions").fetchall()
    assert rows == [(1, "alice")]


def test_explanations_point_at_the_sellers_own_spelling(model_path, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"title": "簡訊轟炸 包月", "description": "不限次数，懂的来 QQ 123456789",
                               "kind": "ecommerce"}, ensure_ascii=False) + "\n", encoding="utf-8")
    sweep("classify", "--in", str(src), "--out", str(out), "--workers", "1")
    (row,) = read_jsonl(out)
    assert row["label"] == "sms_bomber"
    texts = {s["text"] for f in row["explanation"] for s in f["spans"]}
    assert any(t in "簡訊轟炸" and len(t) >= 2 for t in texts), texts


HOLDOUT = Path(__file__).resolve().parent.parent / "classifier" / "eval" / "h1_holdout.jsonl"


def test_holdout_is_independent_of_the_training_corpus():
    """Written apart from the corpus and never trained on: no shared ids or texts."""
    holdout = read_jsonl(HOLDOUT)
    corpus = load_corpus()
    assert len(holdout) >= 300 and {r["label"] for r in holdout} == set(LABELS)
    assert not {r["id"] for r in holdout} & {r["id"] for r in corpus}
    assert not {r["title"] + r["description"] for r in holdout} & {r["title"] + r["description"] for r in corpus}


def test_model_generalises_to_the_independent_holdout(model_path, tmp_path):
    sweep("evaluate", "--in", str(HOLDOUT), "--json", str(tmp_path / "h.json"), "--png", str(tmp_path / "h.png"))
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["n"] == len(read_jsonl(HOLDOUT))
    assert report["binary"]["f1"] >= 0.9 and report["binary"]["precision"] >= 0.9
    assert report["category_accuracy_on_harmful"] >= 0.85
    assert report["hard_negative_fp_rate"] <= 0.1
