"""Classifier benchmark: the full path (normalise → features → predict) vs bare jieba.

    python bench/classify.py          (or: make bench)

Texts are 200-character listings cut from the corpus and the sandbox catalogue (and, once per
round, 2,000-character pages made the same way: the segment path's worst case). Prints
listings/s at batch 1 and batch 1,000 in one process, `jieba.lcut` alone on the same
texts (the baseline) and the ratio, model load time, artifact size, and `sweep classify`
on a large file with one and two worker processes. The baseline and the paths alternate
over ROUNDS (default 5) and the ratios are medians of same-round ratios.
Targets: full path >= 0.5x bare jieba (one process); model load < 2 s.
A speed change must not change predictions: bench/classify_same.py checks that.
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def texts(n: int, length: int = 200) -> list[dict]:
    from classifier.corpus import load_corpus
    from sandbox.catalogue import load_rows

    pool = [f"{r['title']} {r['description']}" for r in load_corpus() + load_rows()]
    rng = random.Random(0)
    out = []
    while len(out) < n:
        text = "".join(rng.sample(pool, 3))      # long enough to cut 200 characters from
        start = rng.randrange(0, max(1, len(text) - length))
        chunk = text[start:start + length]
        out.append({"title": chunk[:20], "description": chunk[20:], "kind": rng.choice(["ecommerce", "forum"])})
    return out


def rate(fn, items) -> float:
    """Items per second of one run (rounds, not repeats, deal with the machine's drift)."""
    start = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    import jieba

    from classifier import artifact
    from classifier.predict import Classifier

    jieba.setLogLevel(60)
    start = time.perf_counter()
    model = Classifier.load()
    load_s = time.perf_counter() - start
    size_mb = artifact.DEFAULT_MODEL.stat().st_size / 1e6
    items = texts(3000)
    raw = [f"{r['title']}\n{r['description']}" for r in items]
    long_items = texts(300, 2000)          # long pages: ~60 segments each
    long_raw = [f"{r['title']}\n{r['description']}" for r in long_items]
    jieba.lcut(raw[0])
    # This machine's speed drifts by up to a third between measurements a few seconds apart, so the
    # baseline and each path alternate (ROUNDS) and every ratio is the median of same-round ratios.
    rounds = int(os.environ.get("ROUNDS", 5))
    runs = {"bare": [], "batch1": [], "batch1k": [], "explained": [], "bare_long": [], "long": []}
    for _ in range(rounds):
        runs["bare"].append(rate(lambda xs: [jieba.lcut(t) for t in xs], raw))
        runs["batch1"].append(rate(lambda xs: [model.predict([x], explain_top=0) for x in xs], items[:600]))
        runs["batch1k"].append(rate(lambda xs: [model.predict(xs[i:i + 1000], explain_top=0)
                                                for i in range(0, len(xs), 1000)], items))
        runs["explained"].append(rate(lambda xs: [model.predict(xs[i:i + 1000]) for i in range(0, len(xs), 1000)],
                                      items))
        runs["bare_long"].append(rate(lambda xs: [jieba.lcut(t) for t in xs], long_raw))
        runs["long"].append(rate(lambda xs: [model.predict(xs[i:i + 100], explain_top=0)
                                             for i in range(0, len(xs), 100)], long_items))
    med = statistics.median
    bare = med(runs["bare"])

    def ratio(path: str, baseline: str = "bare") -> float:
        return med(p / b for p, b in zip(runs[path], runs[baseline]))

    print(f"{rounds} rounds, medians")
    print(f"model load           : {load_s:.2f} s (target < 2 s); artifact {size_mb:.1f} MB")
    print(f"jieba.lcut alone     : {bare:8.0f} listings/s (baseline, 200 characters each)")
    print(f"full path, batch 1   : {med(runs['batch1']):8.0f} listings/s  ({ratio('batch1'):.2f}x baseline)")
    print(f"full path, batch 1000: {med(runs['batch1k']):8.0f} listings/s  ({ratio('batch1k'):.2f}x baseline; "
          f"target >= 0.5x)  [per round: {' '.join(f'{p / b:.2f}' for p, b in zip(runs['batch1k'], runs['bare']))}]")
    print(f"  with explanations  : {med(runs['explained']):8.0f} listings/s  ({ratio('explained'):.2f}x baseline)")
    print(f"2,000-character pages: jieba alone {med(runs['bare_long']):6.0f}/s, full path (batch 100) "
          f"{med(runs['long']):6.0f}/s ({ratio('long', 'bare_long'):.2f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.jsonl"
        big = texts(20000)
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in big), encoding="utf-8")
        for workers in (1, 2):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cli", "classify", "--in", str(src), "--out",
                            str(Path(tmp) / f"out{workers}.jsonl"), "--workers", str(workers)], check=True,
                           cwd=ROOT, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            took = time.perf_counter() - start
            print(f"sweep classify, {workers} worker(s): {len(big) / took:8.0f} listings/s on {len(big)} listings "
                  f"({took:.1f} s incl. start-up)")


if __name__ == "__main__":
    main()
