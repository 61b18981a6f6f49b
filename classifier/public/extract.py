"""Rebuild the public-corpus negatives from Debian's documentation and application packages.

Ordinary Chinese text (office-suite help, manual pages, user help, application UI messages) as
benign rows: the model must see a sea of ordinary text, not only texts about telephony tools.
Sources, versions and licences are listed in docs/corpus-format.md; rows keep their source in
``source``.

    apt-get download libreoffice-help-zh-cn manpages-zh    # p1, p2
    apt-get download gnome-user-docs evolution-common ...  # p3 (UI messages), p4 (help pages)
    apt-get download firefox-esr-l10n-zh-cn ...            # b1 (browser / mail UI, held out)
    python -m classifier.public.extract *.deb

p1/p2: three in four rows (by id hash) go to the training corpus, the rest to classifier/eval/ as
a background sample that is never trained on. p3/p4 exist to measure ordinary FPR on a large
stream, so most of their rows are held out (HELD_SHARE, by text hash); b1 (Mozilla language
packs) is held out whole, a stream from packages the model never sees.
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

from .fluent import langpacks
from .helppages import html_sections, mallard_pages
from .messages import catalogues

HERE = Path(__file__).resolve().parent.parent
KINDS = ("ecommerce", "appstore", "forum")
_SPACE = re.compile(r"\s+")
HELD_SHARE = 4    # p3/p4: three in four rows held out (by text hash) to measure on
MOZILLA = "bg_mozilla_ui.jsonl"    # b1: langpack rows, all held out
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


def _row(row_id: str, h: int, title: str, text: str, register: str, category: str, source: str) -> dict:
    return {"id": row_id, "label": "benign", "kind": KINDS[(h >> 16) % 3], "title": title, "description": text,
            "price": None, "tactics": [], "hard_negative": None, "register": register, "category": category,
            "source": source}


def rows(source: str, prefix: str, pages) -> list[dict]:
    """One row per page: a run of 1–4 consecutive paragraphs, chosen by hash so reruns agree."""
    out = []
    for path, title, paras in pages:
        if not paras:
            continue
        h = _digest(str(path))
        start, size = h % len(paras), 1 + (h >> 8) % 4
        text = "\n".join(paras[start:start + size])
        out.append(_row(f"{prefix}-{len(out) + 1:04d}", h, title, text, "manual", "software_docs", f"{source}:{path}"))
    return out


def runs(prefix: str, pages) -> list[dict]:
    """Every kept paragraph of every page, in runs of 1–4 consecutive paragraphs (sizes by hash)."""
    out, seen = [], set()
    for source, title, paras in pages:
        paras = _keep(paras)
        i = 0
        while i < len(paras):
            h = _digest(f"{source}#{i}")
            text = "\n".join(paras[i:i + 1 + (h >> 8) % 4])
            i += 1 + (h >> 8) % 4
            if text not in seen:
                seen.add(text)
                out.append(_row(f"{prefix}-{len(out) + 1:05d}", h, title, text, "manual", "software_docs", source))
    return out


def message_rows(prefix: str, cats) -> list[dict]:
    """Runs of 1–6 neighbouring messages of one catalogue (sizes by hash), 8–300 characters and at
    least 30 % CJK, each text once; a run that grows past 300 characters ends early."""
    out, seen = [], set()
    for source, texts in cats:
        texts = [t for t in texts if len(t) <= 300 and _cjk_share(t) > 0.3]
        i = 0
        while i < len(texts):
            h = _digest(f"{source}#{i}")
            run = [texts[i]]
            for t in texts[i + 1:i + 1 + (h >> 8) % 6]:
                if sum(map(len, run)) + len(run) + len(t) > 300:
                    break
                run.append(t)
            i += len(run)
            text = "\n".join(run)
            if len(text) >= 8 and text not in seen:
                seen.add(text)
                out.append(_row(f"{prefix}-{len(out) + 1:05d}", h, "", text, "app_ui", "software_ui", source))
    return out


def write(rows_: list[dict], train_path: Path, eval_path: Path, held_share: int = 0) -> tuple[int, int]:
    """Split by id hash, one in four held out; with ``held_share`` n, by text hash, n - 1 in n."""
    if held_share:
        train = [r for r in rows_ if not _digest(r["description"]) % held_share]
        held = [r for r in rows_ if _digest(r["description"]) % held_share]
    else:
        train = [r for r in rows_ if _digest(r["id"]) % 4]
        held = [r for r in rows_ if not _digest(r["id"]) % 4]
    for path, part in ((train_path, train), (eval_path, held)):
        _dump(part, path)
    return len(train), len(held)


def _dump(rows_: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_), encoding="utf-8")


def unpack(deb: Path, into: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into


def _known_texts(out: Path, skip: set[str]) -> set[str]:
    """Descriptions already in the corpus or the evaluation sets, so a new row never repeats one
    (a held-out row that is also training text would flatter the measurement)."""
    known = set()
    for path in sorted([*out.glob("corpus/*.jsonl"), *out.glob("eval/*.jsonl")]):
        if path.name not in skip:
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line) if line.strip() else {}
                known.add(row.get("description") or row.get("text"))
    return known


def main(debs: list[str], out: Path = HERE) -> None:
    messages, pages, packs, errors = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for deb in sorted(map(Path, debs), key=lambda p: p.name):
            root = unpack(deb, Path(tmp) / deb.name)
            package = deb.name.split("_")[0]
            if deb.name.startswith("libreoffice-help"):
                made = rows("libreoffice-help-zh-cn", "p1", libreoffice_pages(root))
                counts = write(made, out / "corpus/p1_libreoffice_help.jsonl", out / "eval/bg_libreoffice_help.jsonl")
            elif deb.name.startswith("manpages-zh"):
                made = rows("manpages-zh", "p2", manpages(root))
                counts = write(made, out / "corpus/p2_manpages_zh.jsonl", out / "eval/bg_manpages_zh.jsonl")
            else:
                bad: list = []
                found = [(f"{package}:{path}", texts) for path, texts in catalogues(root, errors=bad)]
                helps = [(f"{package}:{path}", title, paras) for path, title, paras in
                         [*mallard_pages(root), *html_sections(root, "usr/share/debian-reference/*.zh-cn.html")]]
                ftl = [(f"{package}:{path}", texts) for path, texts in langpacks(root, errors=bad)]
                errors += [(f"{package}:{path}", why) for path, why in bad]
                if not found and not helps and not ftl:
                    raise SystemExit(f"{deb.name}: no zh_CN catalogue, help page or language pack")
                messages += found
                pages += helps
                packs += ftl
                print(f"{deb.name}: {len(found)} catalogue(s), {len(helps)} help page(s), {len(ftl)} .ftl file(s)")
                continue
            print(f"{deb.name}: {counts[0]} training rows, {counts[1]} held out")
    for source, why in errors:
        print(f"skipped {source}: {why}", file=sys.stderr)
    new = {f"{d}_{n}.jsonl" for d in ("p3", "p4", "bg") for n in ("app_messages", "help_pages")} | {MOZILLA}
    known = _known_texts(out, new) if messages or pages or packs else set()
    for prefix, made, name in (("p3", message_rows("p3", messages), "app_messages"),
                               ("p4", runs("p4", pages), "help_pages")):
        made = [r for r in made if r["description"] not in known]
        known |= {r["description"] for r in made}
        if made:
            counts = write(made, out / f"corpus/{prefix}_{name}.jsonl", out / f"eval/bg_{name}.jsonl", HELD_SHARE)
            print(f"{prefix}_{name}: {counts[0]} training rows, {counts[1]} held out")
    held = [r for r in message_rows("b1", packs) if r["description"] not in known]
    if held:
        _dump(held, out / "eval" / MOZILLA)
        print(f"{MOZILLA}: {len(held)} rows, all held out")


if __name__ == "__main__":
    main(sys.argv[1:])
