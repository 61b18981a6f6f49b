"""Evidence: a real Chromium screenshot and the raw HTTP exchange, as a WACZ replay tools accept, once."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import stat
import urllib.request
import zipfile

import pytest
from click.testing import CliRunner

from cli.main import cli
from common.clock import ManualClock
from common.config import Config
from store.db import open_db
from takedown.evidence import capture_flagged, capture_listings, resolve_path, write_once
from tests.fixtures_takedown import copy_db, seed_db

pytestmark = pytest.mark.browser


def _records(wacz_path):
    from warcio.archiveiterator import ArchiveIterator

    with zipfile.ZipFile(wacz_path) as z:
        names = z.namelist()
        warc = z.read(next(n for n in names if n.startswith("archive/")))
    out = []
    for record in ArchiveIterator(io.BytesIO(warc)):
        out.append({"type": record.rec_type, "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "ctype": record.rec_headers.get_header("Content-Type"),
                    "status": record.http_headers.get_statuscode() if record.http_headers else None,
                    "body": record.content_stream().read()})
    return names, out


def _evidence(db_path):
    db = open_db(db_path)
    rows = [dict(r) for r in db.query("SELECT * FROM evidence ORDER BY listing_id")]
    db.close()
    return rows


def test_each_flagged_listing_gets_one_valid_wacz_with_response_and_screenshot(evidenced_db, sandbox):
    path, rows = evidenced_db
    evidence = _evidence(path)
    assert {e["listing_id"] for e in evidence} == {r.key for r in rows}
    for e in evidence:
        wacz, png = resolve_path(path, e["wacz_path"]), resolve_path(path, e["screenshot_path"])
        assert wacz.parent == png.parent and wacz.is_relative_to(path.parent / "evidence")
        # Immutable on disk: read-only, and the digests recorded are the files'.
        assert not os.stat(wacz).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert hashlib.sha256(wacz.read_bytes()).hexdigest() == e["wacz_sha256"]
        assert hashlib.sha256(png.read_bytes()).hexdigest() == e["screenshot_sha256"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and e["http_status"] == 200

        names, records = _records(wacz)
        assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl",
                "indexes/index.cdx.gz"} <= set(names)
        pages = zipfile.ZipFile(wacz).read("pages/pages.jsonl").decode().splitlines()
        assert json.loads(pages[1])["url"] == e["url"]
        response = next(r for r in records if r["type"] == "response")
        assert response["uri"] == e["url"] and response["status"] == "200"
        # The archived body is the page the platform serves (byte for byte, GBK stays GBK).
        assert response["body"] == urllib.request.urlopen(e["url"]).read()
        shot = next(r for r in records if r["type"] == "resource")
        assert shot["uri"] == f"urn:fullPage:{e['url']}" and shot["ctype"] == "image/png"
        assert shot["body"] == png.read_bytes()
        meta = json.loads(next(r for r in records if r["type"] == "metadata")["body"])
        assert meta["listing_id"] == e["listing_id"] and meta["screenshot_sha256"] == e["screenshot_sha256"]
        assert meta["response_sha256"] == e["response_sha256"]


def test_wacz_passes_the_reference_validator(evidenced_db):
    from wacz.validate import Validation

    path, _ = evidenced_db
    for e in _evidence(path):
        v = Validation(str(resolve_path(path, e["wacz_path"])))
        assert v.check_required_contents() is not False
        assert v.frictionless_validate() is not False
        assert v.check_file_hashes() is not False


def test_screenshot_is_the_rendered_page_not_the_raw_html(evidenced_db, catalogue):
    """The JavaScript-filled description only exists in the browser; the screenshot shows it."""
    path, rows = evidenced_db
    js = next(r for r in rows if getattr(r, "js_description", False))
    e = next(e for e in _evidence(path) if e["listing_id"] == js.key)
    _, records = _records(resolve_path(path, e["wacz_path"]))
    raw = next(r for r in records if r["type"] == "response")["body"].decode("utf-8")
    assert "描述加载中" in raw and js.description not in raw
    meta = json.loads(next(r for r in records if r["type"] == "metadata")["body"])
    assert js.description in meta["rendered_text"] and "描述加载中" not in meta["rendered_text"]
    png = resolve_path(path, e["screenshot_path"]).read_bytes()
    assert int.from_bytes(png[16:20], "big") == 1280          # full-page PNG at the capture viewport width


def test_evidence_rows_are_immutable(evidenced_db):
    path, _ = evidenced_db
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("UPDATE evidence SET wacz_sha256 = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        conn.execute("DELETE FROM evidence")
    conn.close()


def test_files_are_never_overwritten(tmp_path):
    target = tmp_path / "a" / "b.png"
    write_once(target, b"first")
    with pytest.raises(FileExistsError):
        write_once(target, b"second")
    assert target.read_bytes() == b"first" and list(target.parent.iterdir()) == [target]


def test_captured_once_per_version_and_again_for_a_new_version(evidenced_db, tmp_path):
    path = copy_db(evidenced_db[0], tmp_path)
    assert capture_flagged(path, Config(), ManualClock()) == 0          # confirmed ones all have evidence
    db = open_db(path)
    lid = db.execute("SELECT listing_id FROM evidence ORDER BY id LIMIT 1").fetchone()[0]
    before = _evidence(path)
    db.execute("UPDATE listings SET version = 2 WHERE id = ?", [lid])
    db.conn.commit()
    db.close()
    assert capture_flagged(path, Config(), ManualClock("2026-12-01T00:00:00+00:00")) == 1
    after = _evidence(path)
    assert [e for e in after if e["version"] == 1] == before
    new = next(e for e in after if e["version"] == 2)
    assert new["listing_id"] == lid and new["captured_at"] == "2026-12-01T00:00:00+00:00"
    assert all(resolve_path(path, e["wacz_path"]).exists() for e in after)


def test_an_unreachable_listing_leaves_no_row_and_no_file(tmp_path, catalogue):
    row = next(r for r in catalogue.market.values() if r.label == "modem_pool")
    path = seed_db(tmp_path / "sweep.db", {"marketplace": "http://127.0.0.1:9"}, [row], state="flagged")
    result = capture_listings(path, Config())
    assert result.captured == [] and row.key in result.errors and "cannot fetch" in result.errors[row.key]
    assert _evidence(path) == []
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").rglob("*.*"))


def test_cli_verify_catches_a_tampered_package(evidenced_db, tmp_path):
    path = copy_db(evidenced_db[0], tmp_path)
    ok = CliRunner().invoke(cli, ["evidence", "--db", str(path), "--verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output.splitlines()[0]) == {"checked": len(evidenced_db[1]), "bad": {}}
    victim = resolve_path(path, _evidence(path)[0]["screenshot_path"])
    os.chmod(victim, 0o644)
    victim.write_bytes(victim.read_bytes() + b"edited")
    bad = CliRunner().invoke(cli, ["evidence", "--db", str(path), "--verify"])
    assert bad.exit_code != 0 and "SHA-256 differs" in bad.output


def test_wacz_index_is_gzipped_cdxj_naming_the_listing(evidenced_db):
    path, _ = evidenced_db
    e = _evidence(path)[0]
    with zipfile.ZipFile(resolve_path(path, e["wacz_path"])) as z:
        lines = gzip.decompress(z.read("indexes/index.cdx.gz")).decode().splitlines()
    urls = [json.loads(line.split(" ", 2)[2])["url"] for line in lines]
    assert e["url"] in urls and f"urn:fullPage:{e['url']}" in urls
