"""The public-corpus extractor on a tiny package built here: UI catalogues (.mo) and help pages."""
from __future__ import annotations

import json
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from classifier.corpus import read_jsonl
from classifier.public import extract
from classifier.public.fluent import parse_ftl
from classifier.public.messages import CatalogueError, read_mo, shown


def mo_bytes(messages: dict[str, str]) -> bytes:
    """A little-endian GNU .mo file (what msgfmt writes): header, sorted tables, strings."""
    keys = sorted(messages)
    ids = [k.encode("utf-8") for k in keys]
    strs = [messages[k].encode("utf-8") for k in keys]
    start = 28 + 16 * len(keys)
    blob, otable, ttable = b"", [], []
    for table, values in ((otable, ids), (ttable, strs)):
        for value in values:
            table.append((len(value), start + len(blob)))
            blob += value + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    return head + b"".join(struct.pack("<2I", *t) for t in otable + ttable) + blob


# Neighbouring UI strings of a dialer / SMS app; the header, an untranslated message and the
# plural's second form must not appear in any row.
CALLS = {"": "Content-Type: text/plain; charset=UTF-8\n", "Block this number": "屏蔽此号码",
         "Call _back": "回拨(_B)", "Incoming call": "来电", "Send _SMS": "发送短信(_S)", "Settings": "",
         "Missed call from %s": "来自 %s 的未接来电", "Delete conversation": "删除对话",
         "dialog\x04Cancel": "取消", "%d new message\x00%d new messages": "%d 条新消息\x00第二形式不应出现",
         "A phone dialer and call handler": "一款电话拨号器和通话管理软件", "Contacts": "~联系人",
         "Very long": "长" * 301, **{f"Reminder {i:02d}": f"提醒选项{i:02d}：未接来电时显示通知" for i in range(40)}}
PAGE = """<?xml version="1.0" encoding="utf-8"?>
<page xmlns="http://projectmallard.org/1.0/" id="sms" xml:lang="zh-CN">
  <info><credit type="author"><name>文档作者不应出现</name></credit>
    <desc><p>信息块里的段落不应出现在任何一行里。</p></desc></info>
  <title>发送和接收短信</title>
  <p>在<gui>消息</gui>应用中，您可以给联系人发送短信，也可以查看收到的短信。</p>
  <list><item><p>打开<gui>消息</gui>，然后点击<gui style="button">新建对话</gui>按钮。</p></item>
    <item><p>输入联系人的名字或电话号码，写好内容后按回车键发送。</p></item></list>
  <note><p>如果您不想再收到某个号码的短信，可以在对话菜单中选择屏蔽此号码。</p></note>
  <p>Untranslated English paragraphs are left out of the rows.</p>
</page>
"""
MANUAL = """<html><head><title>第 1 章 教程</title></head><body>
<h2>1.1. 控制台基础</h2><p>登录以后，您会看到一个命令提示符，可以在这里输入命令。</p>
<p>大多数桌面环境也提供一个终端程序，用法和控制台相同。</p>
<h3>1.1.1. 关机</h3><p>请不要直接切断电源，应当先用命令让系统正常关机。</p></body></html>
"""


# A browser langpack screen: a term, attributes, a multi-line value, a selector (left out), a comment.
FTL = """# This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
-brand-short-name = 演示浏览器
sms-dialog-title = 通过 { -brand-short-name } 发送链接到手机
sms-dialog-send =
    .label = 发送短信
    .accesskey = S
sms-dialog-help =
    输入您的手机号码，我们会把下载链接
    以短信形式发给您。
sms-dialog-count = { $count ->
    [one] 已发送 { $count } 条短信
   *[other] 已发送 { $count } 条短信选择器
}
block-caller = 屏蔽此号码后不再接收来电
"""
MADE = ("p3_app_messages.jsonl", "p4_help_pages.jsonl", "bg_app_messages.jsonl", "bg_help_pages.jsonl",
        "bg_mozilla_ui.jsonl")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pkg") / "demo-phone"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text("Package: demo-phone\nVersion: 1.0-1\nArchitecture: all\n"
                                         "Maintainer: Demo <demo@example.org>\nDescription: test fixture\n")
    locale = root / "usr/share/locale/zh_CN/LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "demo-phone.mo").write_bytes(mo_bytes(CALLS))
    (locale / "broken.mo").write_bytes(b"\x00" * 40)
    (root / "usr/share/locale/de/LC_MESSAGES").mkdir(parents=True)     # other locales are not read
    (root / "usr/share/locale/de/LC_MESSAGES/demo-phone.mo").write_bytes(mo_bytes({"Call": "Anruf bei 来电"}))
    help_dir = root / "usr/share/help/zh_CN/demo-phone"
    help_dir.mkdir(parents=True)
    (help_dir / "sms.page").write_text(PAGE, encoding="utf-8")
    (help_dir / "broken.page").write_text("<page><p>没有闭合", encoding="utf-8")
    (root / "usr/lib/demo-browser/extensions").mkdir(parents=True)
    with zipfile.ZipFile(root / "usr/lib/demo-browser/extensions/langpack-zh-CN@demo.example.org.xpi", "w") as xpi:
        xpi.writestr("localization/zh-CN/browser/sendTab.ftl", FTL)
        xpi.writestr("localization/zh-CN/browser/branding.ftl.txt", "-brand-short-name = 不读")
    (root / "usr/lib/demo-browser/extensions/langpack-zh-CN@broken.example.org.xpi").write_bytes(b"PK\x03\x04 cut")
    (root / "usr/share/debian-reference").mkdir(parents=True)
    (root / "usr/share/debian-reference/ch01.zh-cn.html").write_text(MANUAL, encoding="utf-8")
    out = root.parent / "demo-phone_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)], check=True,
                   capture_output=True)
    return out


def run(deb: Path, out: Path, capsys) -> tuple[list[dict], str]:
    for sub in ("corpus", "eval"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    extract.main([str(deb)], out)
    rows = [r for path in sorted(out.glob("*/*.jsonl")) if path.name in MADE for r in read_jsonl(path)]
    return rows, capsys.readouterr().err


def test_read_mo_returns_translations_in_catalogue_order():
    pairs = read_mo(mo_bytes(CALLS))
    assert pairs[0] == ("%d new message", "%d 条新消息")                  # plural: first form only
    assert ("dialog\x04Cancel", "取消") in pairs
    assert "" not in dict(pairs) and "Settings" not in dict(pairs)      # header, untranslated
    assert [p[0] for p in pairs] == sorted(p[0] for p in pairs)


@pytest.mark.parametrize("data", [b"", b"\x00" * 40, mo_bytes({"a": "甲"})[:40]])
def test_a_broken_catalogue_is_a_clear_error(data):
    with pytest.raises(CatalogueError, match="not a .mo file"):
        read_mo(data)


@pytest.mark.parametrize("text, seen", [("发送短信(_S)", "发送短信"), ("回拨（_B）", "回拨"), ("_Save", "Save"),
                                        ("~联系人", "联系人"), ("打开(&O)", "打开"),
                                        ("AT&T  网络\n设置", "AT&T 网络 设置")])
def test_shown_drops_mnemonics_only(text, seen):
    assert shown(text) == seen


def test_extract_builds_rows_from_catalogues_and_help_pages(deb, tmp_path, capsys):
    rows, err = run(deb, tmp_path, capsys)
    ui, docs, mozilla = ([r for r in rows if r["id"].startswith(p)] for p in ("p3-", "p4-", "b1-"))
    assert ui and docs and mozilla and len(ui) + len(docs) + len(mozilla) == len(rows)
    assert {r["register"] for r in ui + mozilla} == {"app_ui"} and {r["register"] for r in docs} == {"manual"}
    ui_text = "\n".join(r["description"] for r in ui)
    for message in ("屏蔽此号码", "回拨", "来电", "发送短信", "来自 %s 的未接来电", "%d 条新消息", "联系人"):
        assert message in ui_text.split("\n")
    assert "(_" not in ui_text and "第二形式" not in ui_text and "Anruf" not in ui_text and "长" * 301 not in ui_text
    assert all(8 <= len(r["description"]) <= 300 and r["description"].count("\n") <= 5 for r in ui)
    assert {r["source"] for r in ui} == {"demo-phone:usr/share/locale/zh_CN/LC_MESSAGES/demo-phone.mo"}
    assert "skipped demo-phone:usr/share/locale/zh_CN/LC_MESSAGES/broken.mo: not a .mo file" in err
    assert "skipped demo-phone:usr/lib/demo-browser/extensions/langpack-zh-CN@broken.example.org.xpi: " \
           "not a language pack" in err
    doc_text = "\n".join(r["description"] for r in docs)
    assert "您可以给联系人发送短信" in doc_text and "新建对话" in doc_text and "屏蔽此号码" in doc_text
    assert "信息块" not in doc_text and "文档作者" not in doc_text and "Untranslated" not in doc_text
    assert {(r["title"], r["source"]) for r in docs} == {
        ("发送和接收短信", "demo-phone:usr/share/help/zh_CN/demo-phone/sms.page"),
        ("1.1. 控制台基础", "demo-phone:usr/share/debian-reference/ch01.zh-cn.html#1"),
        ("1.1.1. 关机", "demo-phone:usr/share/debian-reference/ch01.zh-cn.html#2")}
    assert "请不要直接切断电源" in doc_text and "终端程序" in doc_text
    moz_text = "\n".join(r["description"] for r in mozilla)
    for message in ("通过 演示浏览器 发送链接到手机", "发送短信", "屏蔽此号码后不再接收来电"):
        assert message in moz_text.split("\n")
    assert "输入您的手机号码，我们会把下载链接 以短信形式发给您。" in moz_text
    assert "选择器" not in moz_text and "{" not in moz_text and "Mozilla Public License" not in moz_text
    assert {r["source"] for r in mozilla} == {
        "demo-phone:usr/lib/demo-browser/extensions/langpack-zh-CN@demo.example.org.xpi!"
        "localization/zh-CN/browser/sendTab.ftl"}
    assert all(r["label"] == "benign" and r["hard_negative"] is None for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)


def test_extract_is_deterministic_and_holds_most_rows_out(deb, tmp_path, capsys):
    run(deb, tmp_path / "a", capsys)
    run(deb, tmp_path / "b", capsys)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").glob("*/*.jsonl"))
    assert [f.as_posix() for f in files] == ["corpus/p3_app_messages.jsonl", "corpus/p4_help_pages.jsonl",
                                             "eval/bg_app_messages.jsonl", "eval/bg_help_pages.jsonl",
                                             "eval/bg_mozilla_ui.jsonl"]      # langpacks: held out whole
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert read_jsonl(tmp_path / "a/corpus/p3_app_messages.jsonl")
    assert read_jsonl(tmp_path / "a/eval/bg_app_messages.jsonl")
    # the split goes by text hash: three in four rows held out, whichever id a row gets
    for train, held in (("p3_app_messages", "bg_app_messages"), ("p4_help_pages", "bg_help_pages")):
        assert all(extract._digest(r["description"]) % extract.HELD_SHARE == 0
                   for r in read_jsonl(tmp_path / "a" / f"corpus/{train}.jsonl"))
        assert all(extract._digest(r["description"]) % extract.HELD_SHARE
                   for r in read_jsonl(tmp_path / "a" / f"eval/{held}.jsonl"))


def test_extract_never_repeats_a_text_the_corpus_or_evaluation_already_has(deb, tmp_path, capsys):
    rows, _ = run(deb, tmp_path / "first", capsys)
    taken = rows[0]
    (tmp_path / "again/eval").mkdir(parents=True)
    (tmp_path / "again/eval/real_public.jsonl").write_text(json.dumps(taken, ensure_ascii=False) + "\n",
                                                            encoding="utf-8")
    again, _ = run(deb, tmp_path / "again", capsys)
    assert taken["description"] not in [r["description"] for r in again]
    assert len(again) == len(rows) - 1        # that row only: nothing else lost


def test_a_package_without_chinese_text_is_refused(tmp_path):
    root = tmp_path / "empty-pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text("Package: empty-pkg\nVersion: 1\nArchitecture: all\n"
                                         "Maintainer: Demo <demo@example.org>\nDescription: nothing\n")
    out = tmp_path / "empty-pkg_1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)], check=True, capture_output=True)
    with pytest.raises(SystemExit, match="no zh_CN catalogue, help page or language pack"):
        extract.main([str(out)], tmp_path)


def test_parse_ftl_reads_values_attributes_and_terms():
    messages, terms = parse_ftl(FTL)
    assert terms == {"-brand-short-name": "演示浏览器"}
    assert dict(messages) == {"sms-dialog-title": ["通过 { -brand-short-name } 发送链接到手机"],
                              "sms-dialog-send": ["发送短信", "S"],
                              "sms-dialog-help": ["输入您的手机号码，我们会把下载链接 以短信形式发给您。"],
                              "sms-dialog-count": [], "block-caller": ["屏蔽此号码后不再接收来电"]}
