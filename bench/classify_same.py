"""Do two versions of the classifier's code predict the same? Run before and after a speed change.

    python bench/classify_same.py --save /tmp/before.json     (on the old code)
    python bench/classify_same.py --check /tmp/before.json    (on the new code; exit 1 on a difference)

Rows: the whole corpus, every classifier/eval/*.jsonl file, the holdout's harmful listings with
250 characters of the boilerplate bank before, after and around (classifier.evaluate.dilute, as
`sweep evaluate --dilute` builds them), the benchmark's 200- and 2,000-character listings, and a
few hostile inputs. Per row it records the label, every class probability at full precision and the
explanation; --check demands identical labels and explanations and probabilities within 1e-6.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOLERANCE = 1e-6
HOSTILE = [{}, {"title": None, "description": None}, {"title": b"\xe5\x91\xbc\xe6\xad\xbb\xe4\xbd\xa0 \xff"},
           {"title": 12345, "description": 3.5}, {"title": " \n\t", "description": "。。。！！"},
           {"title": "<b>呼-死-你</b> &amp; 短💣信", "description": "呼***云端版 加v: abc_demo 🐱池 ＧｏＩＰ"},
           {"title": "GоIР-16 二手", "description": "h.s.n 包月 ☎ 138-0000-0000 伱懂的 " * 40},
           {"title": "x" * 500, "description": "呼" * 3000}]


def rows() -> list[dict]:
    from bench.classify import texts
    from classifier.corpus import load_corpus, read_jsonl
    from classifier.evaluate import boilerplate_bank, dilute

    out = [dict(r) for r in load_corpus()]
    for path in sorted((ROOT / "classifier" / "eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if "text" in r:                             # the boilerplate bank: scored as a page too
                    r = {"title": "", "description": r["text"], "kind": r.get("kind", "ecommerce")}
                out.append(r)
    holdout = read_jsonl(ROOT / "classifier" / "eval" / "h1_holdout.jsonl")
    out += [row for _, _, row in dilute(holdout, boilerplate_bank(), lengths=(250,), seed=1)]   # as `sweep evaluate`
    out += texts(400) + texts(60, 2000) + HOSTILE
    return out


def run() -> list[dict]:
    from classifier.predict import Classifier

    model = Classifier.load()
    data, out = rows(), []
    for i in range(0, len(data), 250):
        chunk = data[i:i + 250]
        _, _, _, listing = model.proba(chunk)
        for res, p in zip(model.predict(chunk), listing):
            out.append({"label": res["label"], "proba": [float(x) for x in p], "explanation": res["explanation"]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--check", type=Path)
    args = ap.parse_args()
    got = run()
    if args.save:
        args.save.write_text(json.dumps(got, ensure_ascii=False), encoding="utf-8")
        print(f"saved {len(got)} rows to {args.save}")
        return 0
    want = json.loads(args.check.read_text(encoding="utf-8"))
    if len(want) != len(got):
        print(f"row count differs: {len(want)} saved, {len(got)} now")
        return 1
    labels = [i for i, (a, b) in enumerate(zip(want, got)) if a["label"] != b["label"]]
    worst = max(abs(x - y) for a, b in zip(want, got) for x, y in zip(a["proba"], b["proba"]))
    expl = [i for i, (a, b) in enumerate(zip(want, got)) if a["explanation"] != b["explanation"]]
    print(f"{len(got)} rows: {len(labels)} labels differ, max |Δp| {worst:.2e}, {len(expl)} explanations differ")
    for i in (labels + expl)[:5]:
        if os.environ.get("SAME_VERBOSE"):
            print(json.dumps([want[i], got[i]], ensure_ascii=False))
        print(f"  row {i}: {want[i]['label']} -> {got[i]['label']}; {want[i]['explanation'][:2]} -> "
              f"{got[i]['explanation'][:2]}")
    return 1 if labels or expl or worst > TOLERANCE else 0


if __name__ == "__main__":
    sys.exit(main())
