"""Bidirectional control characters in crawled text are shown, not obeyed: reports and the terminal.

(The review UI's pages are checked in Chromium by tests/test_review_web.py.)
"""
from __future__ import annotations

import json
from types import SimpleNamespace

from click.testing import CliRunner

from common.bidi import BIDI_CONTROLS, neutralise, neutralise_json
from takedown.channels.base import Citation, ListingRef, Report
from takedown.channels.text import render_body, render_subject
from cli.main import cli
from store.db import open_db
from store.listings import Store
from cli.summary import print_stats, print_summary
from tests.fixtures_review import flagged_listing

SPOOFED = "\u202eNIMDA\u202c 改号软件 \u2066QQ 123456789\u2069 \u200f\u200e\u061c"


def _clean(text: str) -> bool:
    return not set(text) & set(BIDI_CONTROLS)


def test_every_bidi_control_becomes_a_visible_marker_and_json_keeps_the_data():
    assert len(BIDI_CONTROLS) == 12
    shown = neutralise(SPOOFED)
    assert _clean(shown) and shown.startswith("‹U+202E›NIMDA‹U+202C›") and "‹U+061C›" in shown
    assert neutralise("呼死你 plain") == "呼死你 plain" and neutralise(None) is None
    dumped = json.dumps({"title": SPOOFED + "\\"}, ensure_ascii=False)
    assert _clean(neutralise_json(dumped)) and json.loads(neutralise_json(dumped)) == json.loads(dumped)


def test_report_subject_and_body_show_the_controls():
    listing = ListingRef(id="marketplace:1", platform="marketplace", platform_id="1", title=SPOOFED,
                         url="http://market.example/item/1?\u202efdp.exe", label="caller_id_spoof",
                         seller_id="s\u202e1", seller_name="\u202eNIMDA 小店")
    report = Report(id=1, idempotency_key="sweep-test-bidi", channel="email", platform="marketplace",
                    category="caller_id_spoof", escalation_level=0, listings=[listing],
                    citations=[Citation("《反电信网络诈骗法》", "第十四条", "改号", "caller-ID spoofing")],
                    created_at="2026-11-27T00:00:00+00:00", seller_id="s\u202e1", seller_name="\u202eNIMDA 小店")
    body, subject = render_body(report), render_subject(report)
    assert _clean(body) and _clean(subject)
    assert "‹U+202E›NIMDA‹U+202C› 改号软件" in body and "?‹U+202E›fdp.exe" in body
    assert "‹U+202E›NIMDA 小店" in subject and "[sweep-test-bidi]" in subject


def _db_with_spoofed_listing(tmp_path):
    path = tmp_path / "sweep.db"
    db = open_db(path)
    listing = flagged_listing("1", platform="m\u202ekt")
    listing.title = SPOOFED
    Store(db).write_batch([listing], run_id=None)
    db.close()
    return path


def test_terminal_tables_show_the_controls(tmp_path, capsys):
    path = _db_with_spoofed_listing(tmp_path)
    print_stats(str(path))
    print_summary(str(path), SimpleNamespace(run_id=1, outcome="ok", failures=[], platforms={
        "m\u202ekt[bold]": {"pages": 1, "listings": 1, "new": 1, "changed": 0}}))
    out = capsys.readouterr().out
    assert _clean(out)
    assert out.count("m‹U+202E›kt") == 2 and "[bold]" in out         # rich markup in a name is text, too


def test_sweep_search_shows_the_controls_and_its_json_escapes_them(tmp_path):
    path = _db_with_spoofed_listing(tmp_path)
    shown = CliRunner().invoke(cli, ["search", "改号软件", "--db", str(path)])
    assert shown.exit_code == 0, shown.output
    assert _clean(shown.output) and "‹U+202E›NIMDA‹U+202C› 改号软件" in shown.output
    as_json = CliRunner().invoke(cli, ["search", "改号软件", "--db", str(path), "--json"])
    assert _clean(as_json.output) and "\\u202e" in as_json.output
    assert json.loads(as_json.output)["title"] == SPOOFED
