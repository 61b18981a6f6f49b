"""classifier.normalize: each evasion tactic, the offsets contract, bad input, benign text."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from classifier.normalize import MAX_CHARS, clean, contact_cues, normalize, normalize_with_offsets, phonetic

CORPUS = sorted((Path(__file__).resolve().parent.parent / "classifier" / "corpus").glob("*.jsonl"))


def _corpus_texts(limit: int = 400) -> list[str]:
    out = []
    for path in CORPUS:
        for line in path.read_text(encoding="utf-8").splitlines()[: max(3, limit // max(len(CORPUS), 1))]:
            row = json.loads(line)
            out.append(f"{row['title']}\n{row['description']}")
    return out


# ---------------------------------------------------------------- 1. full-width / NFKC / case
@pytest.mark.parametrize("raw, expected", [
    ("ＧｏＩＰ８　八路", "goip8 八路"),
    ("ＳＩＭ卡", "sim卡"),
    ("ＶＩＰ月卡", "vip月卡"),
    ("ＱＱ：１２３４５６７８９", "qq:123456789"),
    ("ｈｓｎ", "呼死你"),            # NFKC first, then the pinyin alias
    ("𝐡𝐬𝐧 软件", "呼死你软件"),      # mathematical bold letters
    ("GoIP", "goip"),
])
def test_fullwidth_and_case(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- 2. traditional + Taiwan/HK terms
@pytest.mark.parametrize("raw, expected", [
    ("電話轟炸", "电话轰炸"),
    ("呼死你軟體", "呼死你软件"),
    ("簡訊轟炸機", "短信轰炸机"),
    ("語音閘道 8路", "语音网关 8路"),
    ("貓池 16口", "猫池 16口"),
    ("網路改號", "网络改号"),
    ("光數據機", "光猫"),
    ("簡 訊 轟 炸", "短信轰炸"),       # phrase table tolerates separators
    ("門號隨便顯示", "号码随便显示"),
])
def test_traditional_and_taiwan_terms(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- 3. separators between CJK chars
@pytest.mark.parametrize("raw", ["呼-死-你", "呼 死 你", "呼.死.你", "呼/死/你", "呼　死　你", "呼|死|你",
                                 "呼~死~你", "呼*死*你", "呼\u200b死\u200b你", "呼 - 死 _ 你", "「呼」「死」「你」"])
def test_separators_removed_between_cjk(raw):
    assert normalize(f"出售{raw}软件") == "出售呼死你软件"


@pytest.mark.parametrize("raw, expected", [
    ("第一句。第二句", "第一句。第二句"),
    ("标题\n正文", "标题。正文"),              # a line break between CJK becomes one 。
    ("你好，世界！", "你好,世界!"),
    ("好 。 \n 下一句", "好。下一句"),
    ("title\nbody", "title body"),
])
def test_sentence_breaks_kept_once(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- emoji
@pytest.mark.parametrize("raw, expected", [
    ("短💣信 套餐", "短信套餐"),           # between CJK chars an emoji is a separator
    ("📞轰炸 1小时", "电话轰炸 1小时"),     # at an edge it is a rebus
    ("📞📞📞 轰 炸 服 务", "电话轰炸服务"),
    ("💣 短信炸弹", "炸短信炸弹"),
    ("🐱池 二手", "猫池二手"),
    ("🐈多口猫", "猫多口猫"),
    ("胡💀你", "胡死你"),
    ("呼 ☠️ 你", "呼死你"),
    ("🐶IP 16口", "goip 16口"),
    ("🔥急收🔥 落地📞设备", "急收落地设备"),
    ("😀😀😀", ""),
    ("【交流群】落 地 设 备", "交流群落地设备"),  # CJK brackets are separators too
    ("1️⃣ 号线路", "1 号线路"),
])
def test_emoji(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- junk latin
@pytest.mark.parametrize("raw, expected", [
    ("你j可h以", "你可以"),
    ("呼死k你", "呼死你"),
    ("短x信轰y炸", "短信轰炸"),
    ("goip 8口", "goip 8口"),
    ("4g网关", "4g网关"),
    ("sim卡 8口猫池", "sim卡 8口猫池"),    # digits are not CJK: the space stays
    ("a家便宜，b家贵", "a家便宜,b家贵"),   # not glued on both sides: a real word
    ("加v私聊", "加v私聊"),               # q/v are contact cues, never junk
    ("呼 s 你 工作室版", "呼死你工作室版"),  # the s is an initial here (phrase table)
])
def test_junk_latin(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- 4. pinyin / initials
@pytest.mark.parametrize("raw, expected", [
    ("hsn", "呼死你"), ("HSN", "呼死你"), ("husini", "呼死你"), ("hu si ni", "呼死你"), ("huSiNi", "呼死你"),
    ("h s n 秒发", "呼死你秒发"), ("H.S.N 代理", "呼死你代理"), ("h u s i n i 月卡", "呼死你月卡"),
    ("hsn软件", "呼死你软件"), ("hsn云端版", "呼死你云端版"),
    ("hz机", "轰炸机"), ("hzj", "轰炸机"), ("hong zha ji", "轰炸机"), ("dh hz 包月", "电话轰炸包月"),
    ("DH轰炸", "电话轰炸"), ("dian hua 轰炸", "电话轰炸"),
    ("dx轰炸", "短信轰炸"), ("dxhz", "短信轰炸"), ("dx hz 无限制", "短信轰炸无限制"), ("duanxin", "短信"),
    ("gh软件", "改号软件"), ("gaihao软件", "改号软件"), ("GAI HAO", "改号"), ("xianhao", "显号"),
    ("xian hao 软件", "显号软件"),
    ("maochi", "猫池"), ("mao chi 全套", "猫池全套"), ("MC 32口", "猫池 32口"),
    ("luodi wangguan", "落地网关"), ("l-d-w-g 4路", "落地网关 4路"), ("yywg", "语音网关"),
    ("G-o-I-P 1口", "goip 1口"), ("go i p 十六口", "goip 十六口"),
    ("si liao", "私聊"), ("yzm hz", "验证码轰炸"), ("dkb 八卡", "多卡宝八卡"), ("mc卡槽扩展板", "猫池卡槽扩展板"),
    ("jm项目哪里接", "接码项目哪里接"), ("ren yi xian hao", "任意显号"), ("xian hao ruan jian", "显号软件"),
])
def test_pinyin_and_initials(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("hūsǐnǐ 专业版", "呼死你专业版"), ("Hū Sǐ Nǐ", "呼死你"), ("duǎnxìn hōngzhà", "短信轰炸"),
    ("gǎi hào ruǎn jiàn", "改号软件"), ("māo chí", "猫池"),
    ("hu\u0304 si\u030c ni\u030c", "呼死你"),        # tone marks typed as separate combining accents
    ("lǜsè", "lvse"),                                   # ü is typed v
])
def test_tone_marked_pinyin_reads_as_plain_pinyin(raw, expected):
    assert normalize(raw) == expected




@pytest.mark.parametrize("raw", ["MC 主持", "dx12 显卡", "60 Hz 电源", "hsnx", "hongkong", "mao sha 猫砂", "jm是谁",
                                 "bomber jacket", "sms 验证", "call me", "boom box", "baby boomer",
                                 "anti text flood plugin for chat"])
def test_aliases_avoid_collisions(raw):
    assert not any(t in normalize(raw) for t in ("猫池", "短信", "轰炸", "呼死你", "显号"))


# ---------------------------------------------------------------- English
@pytest.mark.parametrize("raw, expected", [
    ("sms bomber", "短信轰炸"), ("SMS Bombing tool", "短信轰炸 tool"), ("sms flood", "短信轰炸"),
    ("Call Bomber 云端版", "呼叫轰炸云端版"), ("call flooder 说说体验", "呼叫轰炸说说体验"),
    ("CallBomb", "呼叫轰炸"), ("c a l l bomber", "呼叫轰炸"),
    ("Caller ID spoof app", "改号 app"), ("caller-id spoofing工具", "改号工具"),
    ("spoof caller id", "改号"), ("callerid spoofing", "改号"),
    ("sim bank", "卡池"), ("SIMBank 32", "卡池 32"), ("modem pool", "猫池"), ("text bomb service", "短信轰炸 service"),
    ("voice gateway", "语音网关"), ("GSM Gateway 8口", "语音网关 8口"),
    ("SMSBoom", "短信轰炸"), ("sms boomer v2", "短信轰炸 v2"), ("Call Boomer", "呼叫轰炸"),
    ("callPhoneBoom", "呼叫轰炸"), ("phone-boom", "电话轰炸"),
    ("SmsBomberPro", "短信轰炸 pro"), ("CallSpoofer", "改号"), ("FakeCallerId", "改号"),
    ("Spoofing Phone Calls, Spoofing SMS", "改号,短信改号"), ("GoIPs for sale", "goip for sale"),
    ("SIM banks", "卡池"), ("sms bombers", "短信轰炸"), ("spoofed SMS", "短信改号"),
    ("SMS flooding", "短信轰炸"), ("OTP flooding", "验证码轰炸"),
    ("OTP flooder", "验证码轰炸"), ("SIM box for VoIP", "语音网关 for voip"), ("SIM server 32", "卡池 32"),
])
def test_english_terms(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("GoIP-16", "goip-16"), ("iPhone 15", "iphone 15"), ("WeChat", "wechat"),
    ("SIMBank", "卡池"), ("FastAPI", "fastapi"), ("JavaScript", "java script"), ("macOS", "macos"),
])
def test_camel_case_splits_only_between_words(raw, expected):
    # Two lower-case letters then a capitalised word is a join of words; brand casing (GoIP, iPhone,
    # WeChat, FastAPI) is not, and stays one token.
    assert normalize(raw) == expected


def test_camel_split_highlights_the_original():
    raw = "出 SmsBomberPro 源码"
    s, offs = normalize_with_offsets(raw)
    assert s == "出短信轰炸 pro 源码"
    assert raw[offs[1]:offs[4] + 1] == "SmsBomber"


# ---------------------------------------------------------------- homophones via phonetic()
@pytest.mark.parametrize("variant, canonical", [
    ("胡死你", "呼死你"), ("乎死你", "呼死你"), ("呼屎你", "呼死你"), ("虎嘶妳", "呼死你"), ("呼死尼", "呼死你"),
    ("乎si你", "呼死你"), ("hsn", "呼死你"), ("胡💀你", "呼死你"), ("呼💩你", "呼死你"),
    ("轰乍", "轰炸"), ("轰诈", "轰炸"), ("猫迟", "猫池"), ("猫 吃", "猫池"), ("显嚎", "显号"), ("盖号", "改号"),
    ("落第网管", "落地网关"), ("罗地往关", "落地网关"), ("鱼音网关", "语音网关"), ("店话", "电话"),
])
def test_phonetic_folds_homophones(variant, canonical):
    assert phonetic(variant) == phonetic(canonical)


def test_phonetic_shape():
    assert phonetic("呼死你") == ["hu", "si", "ni"]
    assert phonetic("轰炸") == ["hong", "za"]           # zh -> z
    assert phonetic("显号") == ["xian", "hao"]
    assert phonetic("GoIP 8口 网关") == ["goip", "8", "kou", "wan", "guan"]  # ang -> an
    assert phonetic("") == [] and phonetic("😀") == []
    assert phonetic("猫粮") != phonetic("猫池")


# ---------------------------------------------------------------- contact cues
@pytest.mark.parametrize("raw, cues", [
    ("拍前先问 QQ 123456789", ["cue_qq"]),
    ("扣扣 12345 6789", ["cue_qq"]),
    ("企鹅号 12345678", ["cue_qq"]),
    ("🐧 123456", ["cue_qq"]),
    ("ＱＱ：１２３４５６７８９", ["cue_qq"]),
    ("微信 abc_demo", ["cue_wechat"]),
    ("微 信 abc_demo", ["cue_wechat"]),
    ("vx: demo_seller01", ["cue_wechat"]),
    ("wx demo", ["cue_wechat"]),
    ("威信同号", ["cue_wechat"]),
    ("加V私聊", ["cue_private", "cue_wechat"]),
    ("联系 TG @demo_hk01", ["cue_telegram"]),
    ("Telegram @demo_x", ["cue_telegram"]),
    ("加纸飞机", ["cue_telegram"]),
    ("飞机 @demo_x", ["cue_telegram"]),
    ("✈️ @demo_x", ["cue_telegram"]),
    ("聯繫 電報", ["cue_telegram"]),
    ("需要的私聊", ["cue_private"]),
    ("懂的来", ["cue_private"]),
    ("懂得来", ["cue_private"]),
    ("你懂的", ["cue_private"]),
    ("详聊", ["cue_private"]),
    ("滴滴我", ["cue_private"]),
    ("电话 138-0000-0000", ["cue_phone"]),
    ("1380013xxxx", ["cue_phone"]),
    ("+86 138 0000 0000", ["cue_phone"]),
    ("座机 010-12345678", ["cue_phone"]),
    ("客服 400-123-4567", ["cue_phone"]),
    ("QQ 123456789 微信 abc_demo 私聊", ["cue_private", "cue_qq", "cue_wechat"]),
])
def test_contact_cues(raw, cues):
    assert contact_cues(raw) == cues
    assert contact_cues(normalize(raw)) == cues  # raw or normalised text give the same answer


@pytest.mark.parametrize("raw", ["轰炸机模型 1:72 B-52 飞机模型", "滴滴打车优惠券", "猫粮 10kg", "订单号 20240101",
                                 "订单 2024010113800000000", "12V 电源 适配器", "今天天气很好", "qqq", "蔷薇花", ""])
def test_contact_cues_negative(raw):
    assert contact_cues(raw) == []


# ---------------------------------------------------------------- offsets contract
OFFSET_SAMPLES = [
    "", "a", "呼-死-你", "ＧｏＩＰ８　八路", "我要买呼 死 你软件，QQ 123456789", "hsn软件 dx轰炸 hz机",
    "📞📞📞 轰 炸 服 务\n按小时 💣", "<p>呼死你</p>&amp;&nbsp;", "呼死你軟體 簡訊 閘道",
    "1️⃣ 号 ☎️ 🐶IP", "呼\u200b死\x00你\ud800", "caller id spoofing 工具", "…… ㎏ ﬁ ①",
    "مرحبا 呼死你 Привет", "   leading and trailing   ", "买hu\u0304si\u030cni\u030c 专业版", "\u0301\u0308",
    "GоIР-16 二手", "呼***软件 包月", "改**软件 QQ 123456789", "短信轰*机", "口乎死你 犭苗池", "伱好 莪想要",
]


@pytest.mark.parametrize("raw", OFFSET_SAMPLES + _corpus_texts(120))
def test_offsets_invariants(raw):
    norm, offs = normalize_with_offsets(raw)
    assert len(offs) == len(norm)
    assert all(0 <= i < len(raw) for i in offs)
    assert all(a <= b for a, b in zip(offs, offs[1:]))
    assert norm == normalize(raw)


def _highlight(raw: str, term: str) -> str:
    norm, offs = normalize_with_offsets(raw)
    i = norm.index(term)
    return raw[offs[i]:offs[i + len(term) - 1] + 1]


@pytest.mark.parametrize("raw, term, span", [
    ("这个呼-死-你软件很好用", "呼死你", "呼-死-你"),
    ("新款 呼 死 你 包月", "呼死你", "呼 死 你"),
    ("我要買呼死你軟體", "软件", "軟體"),
    ("短💣信套餐", "短信", "短💣信"),
    ("出 ＧｏＩＰ８ 八路", "goip", "ＧｏＩＰ"),
    ("出个 G-o-I-P 盒子", "goip", "G-o-I-P"),
    ("標題\n簡訊轟炸", "短信轰炸", "簡訊轟炸"),
    ("出 hūsǐnǐ 专业版", "呼死你", "hūsǐnǐ"),
])
def test_offsets_highlight_original_span(raw, term, span):
    assert _highlight(raw, term) == span


def test_alias_expansion_spans_the_whole_source_token():
    raw = "新版 hsn软件 call bomber"
    norm, offs = normalize_with_offsets(raw)
    i = norm.index("呼死你")
    assert raw[offs[i]:offs[i + 2] + 1] == "hsn"          # a highlight covers the seller's spelling
    assert offs[i:i + 3] == sorted(offs[i:i + 3])
    assert raw[offs[norm.index("软件")]] == "软"
    j = norm.index("呼叫轰炸")
    assert raw[offs[j]:offs[j + 3] + 1] == "call bomber"


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("raw", [
    "", None, 12345, 3.5, b"\xe5\x91\xbc\xe6\xad\xbb\xe4\xbd\xa0 bytes\xff", "\x00\x01\x02\x7f", "\ud800", "a\udfffb",
    "مرحبا بالعالم", "Привет мир", "😀🎉🔥", "<script>alert(1)</script><b>呼死你</b>", "<<<>>>&&&;;;",
    "\u202e\u200d\ufeff", "‍" * 50, "ﷺ", "\t\r\n\x0b\x0c",
])
def test_bad_input_does_not_crash(raw):
    norm, offs = normalize_with_offsets(raw)
    assert isinstance(norm, str) and len(offs) == len(norm)
    assert isinstance(phonetic(raw), list) and isinstance(contact_cues(raw), list)
    assert isinstance(clean(raw), str)


def test_clean():
    assert clean(None) == ""
    assert clean(42) == "42"
    assert clean("a\tb\x00c\x07\r\nd") == "a bc\nd"
    assert clean("x\ud800y") == "x\ufffdy"
    assert clean("呼\u200b死\ufeff你") == "呼死你"
    assert len(clean("字" * (MAX_CHARS + 10))) == MAX_CHARS


def test_html_fragments():
    assert normalize("<p>呼死你</p><br/>软件") == "呼死你软件"
    assert normalize("<div class='x'>goip</div> &amp; 8口") == "goip & 8口"
    assert normalize("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2"


def test_huge_input_is_truncated_and_fast():
    raw = ("呼 死 你 hsn 📞 ＧｏＩＰ " * 60_000)[:1_000_000]
    t0 = time.perf_counter()
    norm, offs = normalize_with_offsets(raw)
    phonetic(raw)
    contact_cues(raw)
    assert time.perf_counter() - t0 < 5
    assert max(offs) < MAX_CHARS and len(offs) == len(norm)


@pytest.mark.parametrize("raw", ["呼" + " " * 20_000, "a " * 10_000, "-" * 20_000, "h" + "." * 19_999,
                                 "呼" + "💣" * 19_998 + "x", "呼a" * 10_000])
def test_pathological_inputs_are_linear(raw):
    t0 = time.perf_counter()
    normalize_with_offsets(raw)
    assert time.perf_counter() - t0 < 2


# ---------------------------------------------------------------- benign text is not mangled
@pytest.mark.parametrize("raw, expected", [
    ("轰炸机模型 1:72 B-52", "轰炸机模型 1:72 b-52"),
    ("猫粮 10kg", "猫粮 10kg"),
    ("The quick brown fox jumps over the lazy dog.", "the quick brown fox jumps over the lazy dog."),
    ("A nice bomber jacket for winter", "a nice bomber jacket for winter"),
    ("iPhone 15 Pro Max 256GB", "iphone 15 pro max 256gb"),
    ("今天天气很好，我们去公园散步。", "今天天气很好,我们去公园散步。"),
    ("1/48 Tu-22M3 逆火 轰炸机 拼装模型", "1/48 tu-22m3 逆火轰炸机拼装模型"),
    ("猫砂除臭珠 薰衣草味 450g", "猫砂除臭珠薰衣草味 450g"),
    ("邮箱 demo@example.com 价格 2.5元", "邮箱 demo@example.com 价格 2.5元"),
])
def test_benign_text_not_mangled(raw, expected):
    assert normalize(raw) == expected


# ---------------------------------------------------------------- idempotence (features.py feeds normalised text back)
@pytest.mark.parametrize("raw", OFFSET_SAMPLES + _corpus_texts(400))
def test_idempotent(raw):
    norm = normalize(raw)
    assert normalize(norm) == norm
    assert phonetic(norm) == phonetic(raw)
    assert contact_cues(norm) == contact_cues(raw)


def test_normalize_with_offsets_returns_fresh_list():
    _, offs = normalize_with_offsets("呼-死-你")
    offs.append(999)
    assert normalize_with_offsets("呼-死-你")[1] == [0, 2, 4]


# ---------------------------------------------------------------- look-alikes, 火星文, 拆字, masked keywords
@pytest.mark.parametrize("raw, expected", [
    ("GоIР-16 二手", "goip-16 二手"),             # Cyrillic о and Р
    ("GΟΙΡ-8", "goip-8"),                        # Greek capitals Ο Ι Ρ
    ("ɡоір", "goip"),                            # Latin script g, Cyrillic о і р
    ("ѕmѕ 群发", "sms 群发"),
])
def test_lookalike_letters_fold_to_latin(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("伱好，莪想問一下", "你好,我想问一下"),          # 火星文 variants
    ("口乎死你 包月", "呼死你包月"),                # 拆字: 呼 = 口 + 乎
    ("八口 犭苗池", "八口猫池"),
    ("短亻言轰火乍", "短信轰炸"),
    ("改口丂软件", "改号软件"),
])
def test_mars_script_and_split_characters(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("呼**", "呼死你"),
    ("呼*** 包月", "呼死你包月"),                 # one mask character too many: sellers type both
    ("改**软件", "改号软件"),
    ("短信轰*机 在线版", "短信轰炸机在线版"),
    ("短信轰××", "短信轰炸机"),
    ("出 落地○○ 一台", "出落地网关一台"),
])
def test_masked_keywords_are_restored(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("猫*", "猫*"), ("卡* 一张", "卡一张"),            # one known character and one mask: too little to go on
    ("价格**元", "价格元"), ("1380013xxxx", "1380013xxxx"), ("5*3=15", "5*3=15"), ("呼死你**", "呼死你**"),
])
def test_masks_without_a_fitting_term_are_left_alone(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, term, span", [
    ("出 GоIР-16", "goip", "GоIР"),
    ("正版呼**，包月", "呼死你", "呼**"),
    ("短信轰*机 在线", "短信轰炸机", "短信轰*机"),
])
def test_folded_terms_highlight_the_original(raw, term, span):
    assert _highlight(raw, term) == span


def test_skipped_passes_change_nothing():
    # normalize() skips the Latin passes without a letter and the emoji passes without an emoji or
    # bracket; the full chain, every pass run, must give the same text and offsets.
    import classifier.normalize as n

    def reference(text):
        s = n._coerce(text)
        offs = list(range(len(s)))
        s, offs = n._sub(n._HTML_RE, n._html, s, offs)
        s, offs = n._sub(n._CAMEL_RE, lambda m: " ", s, offs)
        s, offs = n._charmap(s, offs)
        for rx, fn in ((n._MASK_RE, n._unmask), (n._RUN_RE, n._run), (n._LATIN_RE, n._latin),
                       (n._PHRASE_RE, n._phrase), (n._GAP_RE, n._gap), (n._REPEAT_RE, lambda m: (m.group(1), [0])),
                       (n._EDGE_RE, lambda m: n._EDGE_REBUS.get(m.group(), " ")), (n._GAP_RE, n._gap),
                       (n._WS_RE, lambda m: " ")):
            s, offs = n._sub(rx, fn, s, offs)
        lead = len(s) - len(s.lstrip(" "))
        s, offs = s[lead:], offs[lead:]
        return (s[:-1], offs[:-1]) if s[-1:] == " " else (s, offs)

    texts = _corpus_texts(1200) + ["呼💀💀你 📞📞 轰炸", "【短信】轰炸机 c a l l", "h.s.n 包月", "短💣信 ✉ 机",
                                   "GоIР-16", "🐱池 🐱池", "《语音网关》", "", "   ", "a", "纯中文没有字母也没有表情"]
    for text in texts:
        assert normalize_with_offsets(text) == reference(text), text
