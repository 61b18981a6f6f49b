"""Text normalisation for the harassment-tool classifier.

Sellers dodge keyword lists with full-width letters, traditional characters, separators (呼-死-你),
emoji, junk letters (你j可h以), pinyin/initials (hsn, dx轰炸), English (call bomber) and homophones
(胡死你).  ``normalize`` folds all but the last into one canonical string for the features,
``phonetic`` folds homophones, ``contact_cues`` spots off-platform contact bait.  The original
text stays the display text: ``normalize_with_offsets`` maps each output char to an original index.

Chain (offsets carried through every step; tables and regexes built once at import):
  0. coerce to str, cut at MAX_CHARS, HTML tags -> space, entities unescaped; a camelCase join gets a
     space ("SmsBomberPro" -> "Sms Bomber Pro", so the aliases see their words) where two lower-case
     letters meet a capitalised word: "GoIP", "iPhone", "WeChat", "SIMBank" stay whole.
  1. one str.translate table: drop control/zero-width chars, lone surrogates -> U+FFFD, NFKC,
     lowercase, pinyin tone marks dropped (hūsǐnǐ -> husini, ǜ -> v), OpenCC t2s per char (nearly
     context-free), "always" rebus emoji (🐱->猫 🐶->狗 💀/☠->死 💩->屎 🐴->马 🐧->企鹅 ✈->飞机),
     Cyrillic/Greek look-alike letters -> Latin (GоIР -> goip), 火星文 variants (伱 -> 你).
  1b. masked domain terms: 呼** / 呼*** -> 呼死你, 改** -> 改号, 短信轰*机 -> 短信轰炸机 (MASK_TERMS).
  2. >= 3 single letters joined by separators collapse ("c a l l" -> "call").
  3. Latin aliases (data/aliases.tsv): whole tokens, separators allowed inside ("hu si ni", "h.s.n"),
     also glued to Chinese ("hz机"); keys of 4+ letters also in the plural ("spoof calls").
     Expanded chars map to the source span's first index.
  4. phrase aliases: Taiwan/HK terms (簡訊->短信), 狗IP->goip, 呼s你->呼死你; separators allowed inside.
  5. between two CJK chars: runs of spaces/punctuation/emoji are deleted, as is one letter glued on
     both sides (not q/v: 加v is a contact cue).  A run holding a sentence break keeps ONE break as
     punctuation (newline -> 。, else the first of 。、,!?;:), not a space: a space would be glued on
     re-normalisation, and normalize() is idempotent so phonetic()/contact_cues() take either text.
  6. other emoji: repeats collapse; "edge" rebus 💣/💥->炸 📞/☎->电话 📱/📲->手机 ✉/📩/📨->短信 (only
     here: between CJK chars they are separators, 短💣信); the rest, and CJK brackets 【】「」, -> space.
  7. whitespace runs -> one space, strip.  Punctuation outside CJK context is kept ("1:72 B-52").
"""
from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path

import opencc
from pypinyin import lazy_pinyin

MAX_CHARS: int = 20_000

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_EMOJI = "\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\U0001f000-\U0001faff"
_SOFT = r" \-._/\\|*~+=#^`'\"()\[\]{}<>@$%&·•・｜‧∙⋅°«»‹›「」『』【】〔〕〖〗〈〉《》“”‘’—–─〜"
_HARD = "\n。、,!?;:"
_ALWAYS_REBUS = {"🐱": "猫", "🐈": "猫", "🐶": "狗", "🐕": "狗", "💀": "死", "☠": "死", "💩": "屎",
                 "🐴": "马", "🐎": "马", "🐧": "企鹅", "✈": "飞机"}
_EDGE_REBUS = {"💣": "炸", "💥": "炸", "📞": "电话", "☎": "电话", "📱": "手机", "📲": "手机",
               "✉": "短信", "📩": "短信", "📨": "短信"}

# Look-alike letters sellers swap in so a keyword filter misses them ("GоIР" with Cyrillic о and Р),
# keyed by their lowercase form (the map runs after NFKC + lower). Greek and Cyrillic capitals are
# folded by their capital's look (Η -> h, Ν -> n, Υ -> y), the commoner disguise in Latin brand names.
_CONFUSABLE = dict(zip("аbвеёкмнорстухѕіїјԁԛԝһӏɡαβεζηικμνορτυχ",
                       "abbeekmhopctyxsiijdqwhlgabezhikmnoptyx"))
# 火星文: ornamental variants of everyday characters (the 火星 look, same reading and meaning).
_MARS = dict(zip("伱沵妳祢莪吥芣夲菿孒侽洅叧厛僦", "你你你你我不不本到了男再另厅就"))
_CTRL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
                      "\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")
_SURR_RE = re.compile("[\ud800-\udfff]")
_HTML_RE = re.compile(r"<[a-zA-Z/!?][^<>]{0,300}>|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,10});")
_RUN_RE = re.compile(r"[a-z](?<![a-z0-9].)(?:[ .\-_/|*·]+[a-z](?![a-z0-9])){2,}")
_LATIN_SEP = r"[ .\-_/|*·]*"
_PHRASE_SEP = f"[{_SOFT}{_EMOJI}\t]*"
_LATIN_SEP_RE = re.compile(_LATIN_SEP)
_PHRASE_SEP_RE = re.compile(_PHRASE_SEP)
_SEPS = f"\\s{_SOFT}{_EMOJI}{_HARD}"
# Leading charset (not a lookbehind) lets `re` skip ahead in C; the lookbehind then checks the CJK char.
_JUNK = "a-pr-uw-z"  # a lone Latin letter between CJK chars is noise; q and v are contact cues (加v)
# A lone 。/, between CJK chars is already canonical: not matching it saves a callback per clause.
_GAP_RE = re.compile(f"[{_SEPS}{_JUNK}](?<=[{_CJK}].)(?!(?<=[{_HARD[1:]}])[{_CJK}])"
                     f"(?:(?<=[{_JUNK}])|(?<![{_JUNK}])[{_SEPS}]*)(?=[{_CJK}])", re.S)
_REPEAT_RE = re.compile(f"([{_EMOJI}])\\1+")
_EDGE_RE = re.compile(f"[{_EMOJI}【】「」『』《》〈〉〔〕〖〗]")  # leftovers not between CJK chars
_CAMEL_RE = re.compile(r"(?<=[a-z]{2})(?=[A-Z][a-z])")
_WS_RE = re.compile(r"\s{2,}|[^\S ]")  # only runs / non-space whitespace need work
_HARD_SET = frozenset(_HARD)
_CJK_RE = re.compile(f"[{_CJK}]")

_CC = opencc.OpenCC("t2s")


# ---------------------------------------------------------------- input hygiene
def _coerce(text) -> str:
    """None -> "", bytes -> UTF-8 (replacing errors), anything else -> str(); then cut at MAX_CHARS."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[: MAX_CHARS * 4]).decode("utf-8", "replace")
    elif not isinstance(text, str):
        try:
            text = "" if text is None else str(text)
        except Exception:  # a broken __str__ must not take the pipeline down
            return ""
    return text[:MAX_CHARS]


def clean(text) -> str:
    """str-coerce, cut at MAX_CHARS, drop control/zero-width chars (keep \\n, \\t -> space),
    replace lone surrogates with U+FFFD."""
    s = _SURR_RE.sub("\ufffd", _coerce(text)).replace("\t", " ")
    return _CTRL_RE.sub("", s)


# ---------------------------------------------------------------- per-character map
def _map_char(c: str, t2s) -> str:
    if c == "\t":
        return " "
    if c in _ALWAYS_REBUS:
        return _ALWAYS_REBUS[c]
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"
    if _CTRL_RE.match(c) or c in "\ufe0e\ufe0f\u20e3" or (unicodedata.category(c) == "Mn" and c < "\u0370"):
        return ""            # a stray combining accent (u + U+0304 typed apart)
    out = "".join(t2s(_untone(x)) for x in unicodedata.normalize("NFKC", c).lower())
    return "".join(_CONFUSABLE.get(x) or _MARS.get(x) or x for x in out)


def _untone(c: str) -> str:
    """Tone-marked pinyin as typed without tones: hūsǐnǐ -> husini, lǜ -> lv (how ü is typed)."""
    if c < "\u00c0" or c > "\u024f":              # Latin-1 Supplement .. Latin Extended-B only
        return c
    base, *marks = unicodedata.normalize("NFD", c)
    if not base.isascii() or not base.isalpha():
        return c                                     # ß, æ, ø ... have no accent to drop
    return "v" if base == "u" and "\u0308" in marks else base


def _build_charmap():
    """One str.translate table (~12k entries, ~50 ms at import) so the hot path is a C call.
    t2s goes through OpenCC one character at a time; only its TSCharacters keys can change."""
    ts_file = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    keys = ({ln.split("\t", 1)[0] for ln in ts_file.read_text(encoding="utf-8").splitlines()}
            if ts_file.exists() else map(chr, range(0x3400, 0xFB00)))  # other packaging: slower import
    ts = {k: _CC.convert(k) for k in keys}
    t2s = lambda x: ts.get(x, x)  # noqa: E731
    table = {}
    for lo, hi in ((0, 0x10000), (0x1D400, 0x1D800), (0x1F000, 0x1FB00), (0x2F800, 0x2FA20), (0xE0000, 0xE0080)):
        for cp in range(lo, hi):  # other planes: identity (CJK ext. B+ has no t2s/NFKC change)
            if (r := _map_char(chr(cp), t2s)) != chr(cp):
                table[cp] = r
    non1 = [k for k, v in table.items() if len(v) != 1]
    return table, _char_class(non1), _char_class(k for k in non1 if not table[k])


def _char_class(cps) -> re.Pattern:
    """[x-y...] class with ranges merged (thousands of single chars make `re` slow)."""
    ranges: list[list[int]] = []
    for cp in sorted(cps):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "")
                                    for a, b in ranges) + "]")


_TT, _NON1_RE, _DROP_RE = _build_charmap()  # _DROP_RE: chars mapped to nothing


def _charmap(s: str, offs: list[int]) -> tuple[str, list[int]]:
    t = s.translate(_TT)
    # Equal length and nothing deleted => every char mapped to exactly one char.
    if len(t) == len(s) and not _DROP_RE.search(s):
        return t, offs
    o: list[int] = []
    pos = 0
    for m in _NON1_RE.finditer(s):  # 1:1 stretches are copied as slices
        i = m.start()
        o += offs[pos:i]
        o += [offs[i]] * len(_TT[ord(s[i])])
        pos = i + 1
    o += offs[pos:]
    return t, o


# ---------------------------------------------------------------- alias tables
def _trie_regex(keys, sep: str, after_first: str = "") -> str:
    """Trie-shaped alternation (fast in `re`, longest match first) with `sep` between chars."""
    root: dict = {}
    for k in keys:
        node = root
        for ch in k:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict, first: bool = False) -> str:
        alts = []
        for ch, child in node.items():
            if ch == "":
                continue
            tail = build(child)
            if tail:
                tail = f"(?:{sep}{tail})" + ("?" if "" in child else "")
            alts.append(re.escape(ch) + (after_first if first else "") + tail)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")" if alts else ""

    return build(root, True)


def _load_aliases():
    latin, ctx, phrase = {}, {}, {}
    path = Path(__file__).with_name("data") / "aliases.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, key, canon, *rest = line.split("\t")
        if kind == "latin":
            key = re.sub(r"[\s\-]", "", key.lower())
            latin[key] = canon
            if rest and rest[0]:  # context: regex that must follow (collision-prone initials)
                ctx[key] = rest[0]
        else:
            phrase[key.translate(_TT)] = canon
    plain = [k for k in latin if k not in ctx]
    # whole tokens only: not after a letter/digit; two-letter keys also not after "60 " (60 hz is
    # a frequency) — longer ones are safe there ("QQ 123456789 hsn" is still 呼死你).
    lb = r"(?<![a-z0-9].)"
    lb_short = lb + r"(?<!\d[ -].)"
    # keys of four letters and more also match their plural ("spoof calls", "GoIPs", "sim banks")
    alts = [_trie_regex([k for k in plain if len(k) > 3], _LATIN_SEP, lb) + "s?(?![a-z])",
            _trie_regex([k for k in plain if len(k) == 3], _LATIN_SEP, lb) + "(?![a-z])",
            _trie_regex([k for k in plain if len(k) <= 2], _LATIN_SEP, lb_short) + "(?![a-z])"]
    alts += [_trie_regex([k], _LATIN_SEP, lb) + f"(?![a-z])(?={c})" for k, c in ctx.items()]
    latin_re = re.compile("|".join(alts))
    return latin, latin_re, phrase, re.compile(_trie_regex(phrase, _PHRASE_SEP))


_LATIN, _LATIN_RE, _PHRASE, _PHRASE_RE = _load_aliases()
# A text without any of these cannot match _RUN_RE or _LATIN_RE (every match starts with one): both skipped.
_LETTER_RE = re.compile("[a-z" + "".join(sorted({re.escape(k[0]) for k in _LATIN if not "a" <= k[0] <= "z"})) + "]")


# ---------------------------------------------------------------- masked keywords
# "呼***", "改**", "短信轰*机": known characters of a domain term with the rest masked. A mask
# becomes the term when the known characters fit it and the mask has the right length (one extra
# mask character allowed at the end: sellers type "呼***" for 呼死你 as often as "呼**"). The term with
# the most known characters wins; among equals, the one listed first (the commoner word).
MASK_TERMS = ("呼死你", "呼叫轰炸", "电话轰炸", "短信轰炸机", "短信轰炸", "轰炸机", "验证码轰炸", "改号软件", "改号",
              "网络改号", "任意显号", "猫池", "短信猫", "多卡宝", "卡池", "语音网关", "落地网关")
_MASK = "*×○●□■"
_MASK_RE = re.compile(f"[{_CJK}]{{0,4}}[{_MASK}]+(?<=[{_CJK}][{_MASK}]|[{_MASK}]{{2}})[{_CJK}]{{0,4}}")
_MASK_RUN = re.compile(f"[{_MASK}]+")


def _unmask(m):
    g = m.group()
    run = _MASK_RUN.search(g)
    pre, n, post = g[:run.start()], run.end() - run.start(), g[run.end():]
    best = None
    for priority, term in enumerate(MASK_TERMS):
        for k in range(1, min(len(pre), len(term)) + 1):
            if term[:k] != pre[-k:]:
                continue
            for j in range(min(len(post), len(term) - k) + 1):
                mid = len(term) - k - j
                if (mid >= 1 and (k + j >= 2 or n >= 2) and term[len(term) - j:] == post[:j]
                        and (n == mid or (j == 0 and n == mid + 1))):
                    rank = (k + j, -priority)
                    if best is None or rank > best[3]:
                        best = (term, k, j, rank)
    if best is None:
        return None
    term, k, j, _ = best
    a = len(pre) - k                      # kept prefix, then the term over [a, run.end() + j), then the rest
    width = k + n + j
    rel = [*range(a), *(a + i * width // len(term) if 0 < i < len(term) - 1 else a + (0 if i == 0 else width - 1)
                       for i in range(len(term))), *range(len(pre) + n + j, len(g))]
    return pre[:a] + term + post[j:], rel


# ---------------------------------------------------------------- substitution with offsets
def _sub(rx: re.Pattern, fn, s: str, offs: list[int]) -> tuple[str, list[int]]:
    """Like rx.sub(fn, s) but carries offsets.  fn returns None (no change), a str (every new
    char maps into the match's span, first to first and last to last) or (str, relative source
    positions per char)."""
    out: list[str] = []
    o: list[int] = []
    pos = 0
    for m in rx.finditer(s):
        r = fn(m)
        if r is None:
            continue
        a, b = m.span()
        out.append(s[pos:a])
        o += offs[pos:a]
        if isinstance(r, tuple):
            r, rel = r
            o += [offs[a + k] for k in rel]
        else:  # spread the new chars over the source span, so a highlight of them covers all of it
            n, width = len(r), b - a
            o += [offs[a + (width - 1 if k == n - 1 else k * width // n)] for k in range(n)]
        out.append(r)
        pos = b
    if not out:
        return s, offs
    out.append(s[pos:])
    o += offs[pos:]
    return "".join(out), o


def _html(m):
    g = m.group()
    if g[0] == "<":
        return " "
    r = html.unescape(g)
    return None if r == g else r


def _run(m):
    g = m.group()
    rel = [k for k, c in enumerate(g) if "a" <= c <= "z"]
    return "".join(g[k] for k in rel), rel


def _latin(m):
    g = m.group()
    key = _LATIN_SEP_RE.sub("", g)
    if len(key) <= 2 and m.string[m.end():m.end() + 1].isdigit():  # "dx12", "hz2": model numbers
        return None
    r = _LATIN.get(key)
    if r is None and key.endswith("s"):      # a plural
        r = _LATIN.get(key[:-1])
    if r == key:  # identity alias (goip): only drop the separators, keep exact offsets
        return None if g == key else _run(m)
    return r


def _phrase(m):
    g = m.group()
    key = _PHRASE_SEP_RE.sub("", g)
    if key[-1].isascii() and m.string[m.end():m.end() + 1].isalpha():
        return None  # 狗ip must be a whole token (not 狗ipad)
    r = _PHRASE.get(key)
    return (r, range(len(r))) if r and len(r) == len(g) else r  # 1:1 swaps keep exact offsets


def _gap(m):
    g = m.group()
    if _HARD_SET.isdisjoint(g):
        return ""
    k = next(k for k, c in enumerate(g) if c in _HARD_SET)  # keep the first hard break, as punctuation:
    return ("。" if g[k] == "\n" else g[k]), [k]  # a space would be glued again on re-normalisation


_LAST: tuple = (None, "", [])  # one-entry memo: callers typically normalize, then phonetic/cues, the same text


def _normalize(text) -> tuple[str, list[int]]:
    global _LAST
    last = _LAST
    if type(text) is str and text == last[0]:
        return last[1], last[2]
    s = _coerce(text)
    offs = list(range(len(s)))
    if "<" in s or "&" in s:
        s, offs = _sub(_HTML_RE, _html, s, offs)
    s, offs = _sub(_CAMEL_RE, lambda m: " ", s, offs)   # before lowercasing: the case is the boundary
    s, offs = _charmap(s, offs)
    if _MASK_RUN.search(s):
        s, offs = _sub(_MASK_RE, _unmask, s, offs)
    if _LETTER_RE.search(s):  # both passes start at a Latin letter; most units of Chinese text have none
        s, offs = _sub(_RUN_RE, _run, s, offs)
        s, offs = _sub(_LATIN_RE, _latin, s, offs)
    s, offs = _sub(_PHRASE_RE, _phrase, s, offs)
    s, offs = _sub(_GAP_RE, _gap, s, offs)
    if _EDGE_RE.search(s):    # repeats are of emoji, which _EDGE_RE also matches
        s, offs = _sub(_REPEAT_RE, lambda m: (m.group(1), [0]), s, offs)
        before = s
        s, offs = _sub(_EDGE_RE, lambda m: _EDGE_REBUS.get(m.group(), " "), s, offs)
        if s is not before:  # a rebus word may now sit next to a gap: "📞 轰炸" -> "电话轰炸"
            s, offs = _sub(_GAP_RE, _gap, s, offs)
    s, offs = _sub(_WS_RE, lambda m: " ", s, offs)
    if s[:1] == " ":
        s, offs = s[1:], offs[1:]
    if s[-1:] == " ":
        s, offs = s[:-1], offs[:-1]
    if type(text) is str:
        _LAST = (text, s, offs)  # one tuple store: safe across threads
    return s, offs


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Canonical form of `text` plus, per output char, the index of the original char it came from."""
    s, offs = _normalize(text)
    return s, list(offs)  # a copy: the memo must not be mutated by callers


def normalize(text: str) -> str:
    return _normalize(text)[0]


# ---------------------------------------------------------------- phonetic folding
def _fuzzy(ch: str) -> str:
    """Toneless pinyin with common fuzzy merges: zh/ch/sh -> z/c/s, ang/eng/ing -> an/en/in."""
    p = lazy_pinyin(ch)[0]
    if p[:2] in ("zh", "ch", "sh"):
        p = p[0] + p[2:]
    if p.endswith("ng") and p[-3:-2] in ("a", "e", "i"):
        p = p[:-1]
    return p


class _PinyinTable(dict):
    """str.translate table filled on first sight of a char: CJK -> " syllable ", other
    letters/digits -> themselves (so latin runs stay one token), anything else -> " "."""

    def __missing__(self, cp: int) -> str:
        c = chr(cp)
        r = f" {_fuzzy(c)} " if _CJK_RE.match(c) else c if c.isalnum() else " "
        self[cp] = r
        return r


_PY = _PinyinTable()


def phonetic(text: str) -> list[str]:
    """One fuzzy syllable per CJK char of normalize(text); other word runs as lowercase tokens."""
    return _normalize(text)[0].translate(_PY).split()


# ---------------------------------------------------------------- contact cues
# Every alternative starts with a literal (boundary lookbehinds come after it) so `re` can scan in C.
_CUES = [(name, re.compile(rx)) for name, rx in [
    ("cue_qq", r"q(?<![a-z]q)(?:q(?![a-z])|(?![a-z])\s*:?\s*\d{5,})|扣扣|企鹅"),
    ("cue_wechat", r"微\s*信|威\s*信|徽\s*信|薇\s*[信:号]|加\s*[v薇微威]|wechat|weixin|v\s*信"
                   r"|v(?<![a-z0-9]v)(?:x(?![a-z])|\s*:)|w(?<![a-z0-9]w)x(?![a-z])"),
    # 飞机 alone is usually an aeroplane (轰炸机模型): demand a contact-ish neighbour.
    ("cue_telegram", r"纸飞机|电报|telegram|t(?<![a-z0-9]t)g(?![a-z])|飞机\s*(?:[:号@]|联系|私|找)"
                     r"|加\s*飞机|上\s*飞机|找\s*飞机|私\s*飞机|联系\s*飞机"),
    # 滴滴 is also the ride-hailing app.
    ("cue_private", r"私聊|私信|私我|私戳|懂的来|懂得来|你懂的|你懂得|懂的都懂|懂得都懂|懂的私|需要的私"
                    r"|详聊|详谈|滴滴(?!打车|出行|快车|专车|司机|顺风)"),
    # mobile (masked xxxx allowed, optional +86), landline, 400/800 numbers
    ("cue_phone", r"1(?<![\dx]1)[3-9]\d(?:[ \-]?[\dx]){8}(?![\dx])|0(?<!\d0)\d{2,3}[ \-]?\d{7,8}(?!\d)"
                  r"|4(?<!\d4)00[ \-]?\d{3}[ \-]?\d{4}(?!\d)|8(?<!\d8)(?:00[ \-]?\d{3}[ \-]?\d{4}(?!\d)"
                  r"|6[ \-]?1[3-9]\d(?:[ \-]?[\dx]){8}(?![\dx]))"),
]]


def contact_cues(text: str) -> list[str]:
    """Sorted distinct contact-bait cues; raw or already-normalised text give the same answer."""
    s = _normalize(text)[0]
    return sorted(name for name, rx in _CUES if rx.search(s))
