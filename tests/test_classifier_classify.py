"""`sweep classify` on good and malformed input, and the artifact's trust checks."""
from __future__ import annotations

import json
import shutil

import pytest

from classifier import LABELS
from classifier.artifact import ArtifactError, card_path, load
from tests.conftest import read_jsonl, sweep

GOOD = [
    {"id": "a1", "title": "呼 死 你 包月 稳定", "description": "24小时不停呼叫，懂的来 QQ 123456789", "price": "99.00",
     "kind": "ecommerce", "seller": "demo"},
    {"id": "a2", "title": "8口 猫池 批量收码设备", "description": "多卡多待，接码专用，支持群发", "kind": "ecommerce"},
    {"id": "a3", "title": "猫粮 10kg 成猫通用", "description": "鸡肉味，包邮", "kind": "ecommerce",
     "extra": {"x": [1, 2]}},
    {"id": "a4", "title": "警方捣毁一处猫池窝点", "description": "记者从警方获悉，查获设备二十余台，嫌疑人已被刑拘。",
     "kind": "forum"},
]


def test_classify_adds_fields_and_passes_input_through(model_path, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in GOOD), encoding="utf-8")
    proc = sweep("classify", "--in", str(src), "--out", str(out), "--workers", "1")
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["a1", "a2", "a3", "a4"]
    for original, row in zip(GOOD, rows):
        assert {k: row[k] for k in original} == original            # pass-through unchanged
        assert row["label"] in LABELS and 0.0 <= row["score"] <= 1.0
        assert set(row["scores"]) == set(LABELS) and sum(row["scores"].values()) == pytest.approx(1, abs=0.01)
        assert isinstance(row["flagged"], bool) and isinstance(row["explanation"], list)
    assert rows[0]["flagged"] and rows[0]["label"] == "call_bomber"
    assert rows[1]["flagged"] and rows[1]["label"] == "modem_pool"
    assert not rows[2]["flagged"] and rows[2]["label"] == "benign"
    assert not rows[3]["flagged"]
    spans = [s for f in rows[0]["explanation"] for s in f["spans"]]
    assert any(s["field"] == "title" and "呼 死 你".startswith(s["text"][:1]) for s in spans)
    assert "classified 4 listings" in proc.stderr


def test_malformed_lines_are_reported_with_their_number_and_skipped(model_path, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [json.dumps(GOOD[0], ensure_ascii=False), "{not json", json.dumps({"title": "只有标题"}),
             "[1, 2]", "", json.dumps(GOOD[2], ensure_ascii=False), json.dumps({"title": 5, "description": "x"})]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = sweep("classify", "--in", str(src), "--out", str(out), "--workers", "2", "--batch", "1")
    assert [r["id"] for r in read_jsonl(out)] == ["a1", "a3"]
    assert "line 2: not JSON" in proc.stderr
    assert "line 3: 'description' missing" in proc.stderr
    assert "line 4: not a JSON object" in proc.stderr
    assert "line 7: 'title' missing or not a string" in proc.stderr
    assert "4 malformed lines skipped" in proc.stderr


def test_hostile_and_huge_text_gets_a_prediction(model_path, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    weird = [
        {"title": "", "description": ""},
        # 1.2 MB of one offer sentence (a bare keyword repeated is no offer to a segment scorer)
        {"title": "x" * 10, "description": "呼死你包月不限次数，" * 120_000},
        {"title": "\x00\x07控制字符\x1b[31m", "description": "\ud800 lone surrogate"},
        {"title": "Привет мир", "description": "مرحبا بالعالم 🎉🎉🎉"},
        {"title": "<script>alert(1)</script>", "description": "<img src=x onerror=alert(1)> 猫池"},
    ]
    with open(src, "w", encoding="utf-8", errors="surrogatepass") as fh:
        for r in weird:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    sweep("classify", "--in", str(src), "--out", str(out), "--workers", "1")
    rows = read_jsonl(out)
    assert len(rows) == len(weird)
    assert rows[1]["flagged"] and rows[1]["label"] == "call_bomber"   # the cut text is judged on what it says


def test_artifact_refuses_tampering_and_other_versions(model_path, tmp_path):
    model = tmp_path / "model.skops"
    shutil.copy(model_path, model)
    shutil.copy(card_path(model_path), card_path(model))
    load(model)                                           # the untouched copy loads
    card = json.loads(card_path(model).read_text())
    card["versions"]["scikit-learn"] = "0.1.0"
    card_path(model).write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match="built for other library versions: scikit-learn 0.1.0"):
        load(model)
    shutil.copy(card_path(model_path), card_path(model))
    with open(model, "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ArtifactError, match="does not match its card"):
        load(model)
    with pytest.raises(ArtifactError, match="no model at"):
        load(tmp_path / "missing.skops")
    proc = sweep("classify", "--in", "-", "--out", "-", "--model", str(model), check=False, input="")
    assert proc.returncode != 0 and "does not match its card" in proc.stderr


def test_each_kind_of_bad_line_is_reported_and_the_run_goes_on(model_path, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = [json.dumps(r, ensure_ascii=False).encode() for r in GOOD]
    lines = [
        good[0],
        b"[" * 100_000 + b"]" * 100_000,                                          # 2: RecursionError in json
        b'{"title": "x", "description": "y", "price": NaN}',                       # 3
        good[1],
        b'{"title": "x", "description": "y", "price": -Infinity}',                 # 5
        b'{"title": "x", "description": "y", "price": 1e400}',                     # 6: parses as inf
        b'{"id": "u8", "title": "\xff\xfe bad bytes", "description": "\xe5\x91\xbc\xe6\xad"}',   # 7: invalid UTF-8
        b'{"id": "sur", "title": "\\ud800 alone", "description": "pair \\ud83d\\ude00"}',         # 8: lone surrogate
        b'{"title": "x", "description": "y", "n": ' + b"9" * 5000 + b"}",          # 9: past int digit limit
        b"[1, 2]",                                                                 # 10
        b'{"title": "only a title"}',                                              # 11
        good[2],
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    proc = sweep("classify", "--in", str(src), "--out", str(out), "--workers", "2", "--batch", "2")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    raw = out.read_bytes()
    raw.decode("utf-8")                                    # strict: nothing invalid reached the output
    assert b"NaN" not in raw and b"Infinity" not in raw and b"\\ud800" not in raw
    rows = [json.loads(line, parse_constant=pytest.fail) for line in raw.decode().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "u8", "sur", "a3"]       # every good line, in order
    assert all(r["label"] in LABELS for r in rows)
    assert rows[2]["title"] == "\ufffd\ufffd bad bytes" and rows[3]["title"] == "\ufffd alone"
    assert rows[3]["description"] == "pair 😀"
    for number, why in [(2, "nested too deeply"), (3, "NaN is not a finite JSON number"),
                        (5, "-Infinity is not a finite JSON number"), (6, "1e400 is not a finite JSON number"),
                        (9, "not readable JSON"), (10, "not a JSON object"), (11, "'description' missing")]:
        assert f"line {number}: {why}" in proc.stderr
    assert "line 7: invalid UTF-8 at byte 24; replaced with U+FFFD" in proc.stderr     # the first bad byte
    assert "line 8: lone surrogate escape" in proc.stderr
    assert "7 malformed lines skipped; 2 lines with invalid Unicode repaired" in proc.stderr
    missing = sweep("classify", "--in", str(tmp_path / "nope.jsonl"), "--out", str(out), check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr and "nope.jsonl" in missing.stderr


def test_scoring_pauses_cyclic_gc_and_leaves_it_as_found(model_path, monkeypatch):
    import gc

    from classifier import predict

    seen = []
    real_batch = predict.batch
    monkeypatch.setattr(predict, "batch", lambda *a: seen.append(gc.isenabled()) or real_batch(*a))
    model = predict.Classifier.load(model_path)
    assert gc.isenabled()
    first = model.predict(GOOD, explain_top=0)
    assert seen == [False] and gc.isenabled()           # off while tokenising, back on after
    gc.disable()
    try:
        assert model.predict(GOOD, explain_top=0) == first and not gc.isenabled()   # a caller's choice stands
    finally:
        gc.enable()
    monkeypatch.setattr(predict, "batch", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model.predict(GOOD)
    assert gc.isenabled()                                # restored when scoring fails
