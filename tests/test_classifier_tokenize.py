"""classifier.tokenize: the fast dictionary cut gives exactly jieba's own words."""
from __future__ import annotations

import random

from classifier.corpus import load_corpus
from classifier.normalize import normalize
from classifier.tokenize import _KEEP, tokenizer, words

ODD = ["", " ", "\n\n", "。，！", "c++ a.b-c 50% #1 & _x_", "GoIP-16口 8路 猫池", "abc123呼死你def456",
       "𠀀𠀁 㐀㐁 ぁあ ㄅ ÀÉ мир ｱ", "中华人民共和国万岁万岁万万岁", "的的的的的的的的的的", "a b c 1 2 3",
       "短信轰炸机短信轰炸机" * 20, "2024年12月1日发货 QQ 123456789 v信 abc_demo", "-.-.-%%%###", "_"]


def _reference(text: str) -> list[str]:
    return [w for w in tokenizer().lcut(text, HMM=False) if _KEEP.search(w)]


def _varied(n: int = 400) -> list[str]:
    rows = load_corpus()
    rng = random.Random(9)
    out = list(ODD)
    for r in rng.sample(rows, n // 2):
        text = f"{r['title']}\n{r['description']}"
        out += [text, normalize(text)]
    chars = "".join(rng.sample(out[len(ODD):], 20))
    out += ["".join(rng.choice(chars) for _ in range(rng.randrange(1, 60))) for _ in range(100)]  # shuffled
    return out


def test_words_are_jiebas_dictionary_cut_filtered():
    texts = _varied()
    assert [words(t) for t in texts] == [_reference(t) for t in texts]


def test_a_shared_block_cache_changes_nothing():
    texts = _varied(200)
    cache: dict = {}
    assert [words(t, cache) for t in texts * 2] == [_reference(t) for t in texts] * 2
    assert cache                    # it was used
