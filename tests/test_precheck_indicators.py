"""`sweep indicators`: STIX 2.1 round trip between two databases; imports feed banks and the queue, never confirm."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.fixtures_review import flagged_listing
from tests.test_precheck_api import CONFIRMED_TEXT, _seed

pytest.importorskip("stix2")


def _second_db(path):
    """Another party's database: listings nobody has reviewed yet."""
    from store.db import open_db
    from store.listings import Store

    store = Store(open_db(path))
    shares_qq = flagged_listing("7", seller="other1", description="闲置 物品 QQ 123451234")
    shares_qq.classification = None                            # read as benign: stays new
    relist = flagged_listing("8", seller="other2", description=CONFIRMED_TEXT.replace("123451234", "123450000")
                             .replace("dl.example.com", "cdn.example.net"))
    relist.title = "猫池 100"
    unrelated = flagged_listing("9", seller="other3", description="普通 数据线")
    unrelated.classification = None
    store.write_batch([shares_qq, relist, unrelated], run_id=None)
    store.db.close()


def test_round_trip_between_two_databases(tmp_path, model_path):
    from cli.main import cli
    from store.db import open_db

    a, b, bundle = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "bundle.json"
    _seed(a)
    _second_db(b)
    states_before = dict(open_db(b).execute("SELECT id, state FROM listings").fetchall())
    out = CliRunner().invoke(cli, ["indicators", "export", "--db", str(a), "--out", str(bundle),
                                   "--org", "Example T&S"])
    assert out.exit_code == 0, out.output
    data = json.loads(bundle.read_text())
    assert data["type"] == "bundle"
    patterns = {o["pattern"] for o in data["objects"] if o["type"] == "indicator"}
    assert "[user-account:account_type = 'qq' AND user-account:account_login = '123451234']" in patterns
    assert "[url:value = 'dl.example.com/tools/pool-v2.apk']" in patterns
    assert "[user-account:account_type = 'sweep-seller' AND user-account:user_id = 'marketplace:shop9']" in patterns
    assert not any("shop8" in p for p in patterns), "only confirmed listings are shared"
    sightings = [o for o in data["objects"] if o["type"] == "sighting"]
    assert sightings and all(o["first_seen"] and o["last_seen"] and o["count"] >= 1 for o in sightings)
    assert all(0 < o["confidence"] <= 100 for o in data["objects"] if o["type"] == "indicator")

    imported = CliRunner().invoke(cli, ["indicators", "import", str(bundle), "--source", "partner-a", "--db", str(b)])
    assert imported.exit_code == 0, imported.output
    db = open_db(b)
    kinds = {r["type"] for r in db.query("SELECT type FROM indicators WHERE source = 'partner-a'")}
    assert kinds == {"contact", "link", "seller", "signature"}
    states = dict(db.execute("SELECT id, state FROM listings").fetchall())
    assert states_before["marketplace:7"] == "new" and states["marketplace:7"] == "flagged"
    assert states["marketplace:9"] == states_before["marketplace:9"] == "new"
    assert "confirmed" not in states.values(), "an import never confirms"
    hits = {r["listing_id"]: r["source"] for r in db.query("SELECT listing_id, source FROM indicator_hits")}
    assert hits == {"marketplace:7": "partner-a", "marketplace:8": "partner-a"}
    audit = db.execute("SELECT detail FROM audit_log WHERE listing_id = 'marketplace:7' AND actor = "
                       "'sweep-indicators'").fetchone()
    assert audit and "partner-a" in audit[0]

    # The imported indicators feed the check banks, deciding at most "review" on their own.
    from classifier.predict import Classifier
    from precheck.banks import Banks
    from precheck.decide import Checker

    checker = Checker(Classifier.load(model_path), Banks.load(db))
    # An ordinary listing the model clears: the decision comes from the imported contact alone.
    result = checker.check([{"title": "二手 自行车",
                             "description": "九成新 捷安特山地车，骑了一年，同城自提。QQ 123451234"}])[0]
    assert result["decision"] == "review" and result["matches"][0]["source"] == "partner-a"

    again = CliRunner().invoke(cli, ["indicators", "import", str(bundle), "--source", "partner-a", "--db", str(b)])
    assert again.exit_code == 0 and "0 stored listings queued" in again.output
    assert db.execute("SELECT count(*) FROM indicators").fetchone()[0] == len(
        [o for o in data["objects"] if o["type"] == "indicator"])
    reexport = CliRunner().invoke(cli, ["indicators", "export", "--db", str(b)])
    assert "123451234" not in reexport.output, "imported indicators are not re-shared as our own"


def test_bad_bundles_are_refused_with_one_line(tmp_path):
    from cli.main import cli

    db = tmp_path / "b.db"
    for name, text in (("junk.json", "{not json"), ("pickle.json", "\x80\x03cos\nsystem\n"),
                       ("notbundle.json", json.dumps({"type": "indicator"}))):
        (tmp_path / name).write_text(text)
        out = CliRunner().invoke(cli, ["indicators", "import", str(tmp_path / name), "--source", "p", "--db", str(db)])
        assert out.exit_code == 1 and "Error:" in out.output, out.output
    foreign = {"type": "bundle", "id": "bundle--0f6b8f3c-5b0e-4d43-8f55-3d0b1c3f0b6e", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--0f6b8f3c-5b0e-4d43-8f55-3d0b1c3f0b6f",
         "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '198.51.100.7']", "valid_from": "2026-01-01T00:00:00Z"}]}
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    out = CliRunner().invoke(cli, ["indicators", "import", str(tmp_path / "foreign.json"), "--source", "p",
                                   "--db", str(db)])
    assert out.exit_code == 0 and "0 indicators" in out.output and "1 skipped" in out.output
    out = CliRunner().invoke(cli, ["indicators", "import", str(tmp_path / "foreign.json"), "--source", "local",
                                   "--db", str(db)])
    assert out.exit_code == 2 or "Error" in out.output
