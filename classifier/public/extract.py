"""Rebuild the public-corpus negatives from Debian's documentation packages.

Ordinary technical prose in Chinese (office-suite help, manual pages) as benign rows: the model
must see a sea of ordinary text, not only texts about telephony tools. Sources, versions and
licences are listed in docs/corpus-format.md; rows keep their source page in ``source``.

    apt-get download libreoffice-help-zh-cn manpages-zh
    python -m classifier.public.extract libreoffice-help-zh-cn_*.deb manpages-zh_*.deb

Three in four rows (by id hash) go to the training corpus, the rest to classifier/eval/ as a
background sample that is never trained on.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from lxml import html as lxml_html

HERE = Path(__file__).resolve().parent.parent
KINDS = ("ecommerce", "appstore", "forum")
_SPACE = re.compile(r"\s+")
_ROFF_SKIP = (".\\\"", "'\\\"", ".TH", ".so", ".de", "..", ".if", ".ie", ".el", ".nr", ".ds", ".ft", ".in",
              ".nf", ".fi", ".ad", ".na", ".hy", ".ne", ".RS", ".RE")
_ROFF_BREAK = (".SH", ".PP", ".TP", ".LP", ".P ", ".IP", ".SS")
_ROFF_FONT = re.compile(r"^\.(B|I|BR|BI|IB|IR|RI|RB|SM|SB)\s+")
_ROFF_ESC = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\-|\\&|\\e|\\ |\\\*.|\\s[-+]?\d|\.R[SE]( \d+)?")


def _cjk_share(text: str) -> float:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) / max(1, len(text))


def _keep(paras) -> list[str]:
    paras = [_SPACE.sub(" ", p).strip() for p in paras]
    return [p for p in paras if 15 <= len(p) <= 600 and _cjk_share(p) > 0.3]


def libreoffice_pages(root: Path):
    for path in sorted(root.glob("usr/share/libreoffice/help/zh-CN/**/*.html")):
        try:
            doc = lxml_html.parse(str(path)).getroot()
        except (OSError, ValueError):
            continue
        title = _SPACE.sub(" ", doc.findtext(".//h1") or "").strip()
        yield path.relative_to(root), title, _keep(p.text_content() for p in doc.iter("p"))


def _roff_paragraphs(text: str) -> list[str]:
    paras, cur = [], []
    for line in text.splitlines():
        if line.startswith(_ROFF_BREAK) or line.strip() in ("", ".P", ".br", ".sp"):
            if cur:
                paras.append(" ".join(cur))
                cur = []
        elif not line.startswith(_ROFF_SKIP):
            line = _ROFF_ESC.sub(lambda m: "-" if m.group() == "\\-" else " ", _ROFF_FONT.sub("", line))
            cur.append(line.strip().strip('"'))
    return paras + ([" ".join(cur)] if cur else [])


def manpages(root: Path):
    for path in sorted(root.glob("usr/share/man/zh_CN/man*/*.gz")):
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield path.relative_to(root), path.name[:-3], _keep(_roff_paragraphs(text))


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)


def rows(source: str, prefix: str, pages) -> list[dict]:
    """One row per page: a run of 1–4 consecutive paragraphs, chosen by hash so reruns agree."""
    out = []
    for path, title, paras in pages:
        if not paras:
            continue
        h = _digest(str(path))
        start, size = h % len(paras), 1 + (h >> 8) % 4
        text = "\n".join(paras[start:start + size])
        out.append({"id": f"{prefix}-{len(out) + 1:04d}", "label": "benign", "kind": KINDS[(h >> 16) % 3],
                    "title": title, "description": text, "price": None, "tactics": [], "hard_negative": None,
                    "register": "manual", "category": "software_docs", "source": f"{source}:{path}"})
    return out


def write(rows_: list[dict], train_path: Path, eval_path: Path) -> tuple[int, int]:
    train = [r for r in rows_ if _digest(r["id"]) % 4]
    held = [r for r in rows_ if not _digest(r["id"]) % 4]
    for path, part in ((train_path, train), (eval_path, held)):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
    return len(train), len(held)


def unpack(deb: Path, into: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into


def main(debs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for deb in map(Path, debs):
            root = unpack(deb, Path(tmp) / deb.name)
            if deb.name.startswith("libreoffice-help"):
                made = rows("libreoffice-help-zh-cn", "p1", libreoffice_pages(root))
                counts = write(made, HERE / "corpus/p1_libreoffice_help.jsonl", HERE / "eval/bg_libreoffice_help.jsonl")
            elif deb.name.startswith("manpages-zh"):
                made = rows("manpages-zh", "p2", manpages(root))
                counts = write(made, HERE / "corpus/p2_manpages_zh.jsonl", HERE / "eval/bg_manpages_zh.jsonl")
            else:
                raise SystemExit(f"unknown package {deb.name}")
            print(f"{deb.name}: {counts[0]} training rows, {counts[1]} held out")


if __name__ == "__main__":
    main(sys.argv[1:])
