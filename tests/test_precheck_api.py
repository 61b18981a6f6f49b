"""`sweep serve-check`: the pre-publication check API on real uvicorn, a real database and the bundled model."""
from __future__ import annotations

import json
import stat
import time

import pytest
import requests
from click.testing import CliRunner

from tests.fixtures_review import flagged_listing, serving

CONFIRMED_TEXT = ("八口猫池 群发 设备 出售，支持多卡同时在线，稳定不掉线，自带管理软件，批量注册 验证码接收 一机多号，"
                  "联系 QQ 123451234，下载 http://dl.example.com/tools/pool-v2.apk")


def _seed(path):
    from store.db import open_db
    from store.states import transition
    from store.listings import Store

    store = Store(open_db(path))
    confirmed = flagged_listing("100", seller="shop9", description=CONFIRMED_TEXT)
    other = flagged_listing("101", seller="shop8", description="普通 数据线 一根")
    store.write_batch([confirmed, other], run_id=None)
    with store.db.conn:
        transition(store.db.conn, "marketplace:100", "confirmed", "alice", "modem pool")
    store.db.close()


@pytest.fixture
def api(tmp_path, model_path):
    from store.accounts import accounts_path, open_accounts
    from precheck.api import build_service, create_app
    from precheck.keys import add_key
    from common.config import Config

    db = tmp_path / "sweep.db"
    _seed(db)
    accounts = open_accounts(accounts_path(db))
    keys = {"main": add_key(accounts, "main", 1000), "slow": add_key(accounts, "slow", 2),
            "gone": add_key(accounts, "gone", 1000)}
    accounts.close()
    service = build_service(str(db), Config({"check": {"key_refresh_seconds": 0, "max_body_bytes": 200_000,
                                                        "sample_allow": 1.0}}), str(model_path))
    with serving(create_app(service)) as url:
        yield url, keys, db, service
    service.close()


def _post(url, path, key, body, **kw):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    headers.update(kw.pop("headers", {}))
    return requests.post(url + path, data=body, headers=headers, timeout=30, **kw)


def test_decisions_model_and_banks(api):
    url, keys, db, service = api
    k = keys["main"]
    benign = _post(url, "/v1/check", k, {"title": "二手 自行车", "description": "九成新，同城自提"})
    assert benign.status_code == 200 and benign.json()["decision"] == "allow", benign.text
    harmful = _post(url, "/v1/check", k, {"title": "呼死你软件 出售", "description": "电话轰炸 无限呼叫 私聊",
                                           "id": "x1"}).json()
    assert harmful["decision"] in ("review", "block") and harmful["label"] == "call_bomber" and harmful["id"] == "x1"
    spans = [s for r in harmful["reasons"] for s in r["spans"]]
    assert any(s["text"] == "呼死你" for s in spans)
    # Reads as benign, but the QQ handle is a confirmed listing's: blocked by the contact bank.
    contact = _post(url, "/v1/check", k, {"title": "二手 自行车", "description": "有意 QQ 123451234"}).json()
    assert contact["decision"] == "block"
    assert {"type": "contact", "value": "qq:123451234", "listing_id": "marketplace:100"}.items() <= \
        contact["matches"][0].items()
    link = _post(url, "/v1/check", k, {"title": "工具", "links": ["https://www.dl.example.com/tools/pool-v2.apk?x=1"]})
    assert link.json()["decision"] == "block" and link.json()["matches"][0]["type"] == "link"
    seller = _post(url, "/v1/check", k, {"title": "二手 自行车", "seller": "shop9", "platform": "marketplace"}).json()
    assert seller["decision"] == "review" and seller["matches"][0]["type"] == "seller"
    assert _post(url, "/v1/check", k, {"title": "二手 自行车", "seller": "shop8",
                                       "platform": "marketplace"}).json()["decision"] == "allow"
    # The confirmed text with a new QQ and download host: only the MinHash bank can catch the relist.
    relist = _post(url, "/v1/check", k, {"title": "猫池 100", "description": CONFIRMED_TEXT.replace(
        "123451234", "123459876").replace("dl.example.com", "cdn.example.net")}).json()
    assert relist["decision"] == "block" and [m["type"] for m in relist["matches"]] == ["signature"]
    assert relist["matches"][0]["listing_id"] == "marketplace:100"

    batch = _post(url, "/v1/check/batch", k, {"listings": [{"title": "二手 自行车"}] * 3 + [
        {"title": "x", "description": "QQ 123451234"}]})
    assert [r["decision"] for r in batch.json()["results"]] == ["allow", "allow", "allow", "block"]

    service.log.close()             # writes what is queued
    from store.db import open_db

    rows = list(open_db(db).query("SELECT api_key, via, decision, listing FROM check_decisions"))
    assert {r["decision"] for r in rows} == {"allow", "review", "block"} and {r["via"] for r in rows} == {
        "single", "batch"}
    assert all(r["api_key"] == "main" for r in rows)
    assert any("123451234" in r["listing"] for r in rows if r["decision"] == "block")


def test_clear_errors_on_bad_input(api):
    url, keys, _, _ = api
    k = keys["main"]

    def err(resp, status, code):
        assert resp.status_code == status, resp.text
        body = resp.json()["error"]
        assert body["code"] == code and body["message"]
        return body

    err(_post(url, "/v1/check", None, {"title": "x"}), 401, "unauthorised")
    err(_post(url, "/v1/check", "swk_wrong", {"title": "x"}), 401, "unauthorised")
    err(_post(url, "/v1/check", k, b"{not json", headers={"Content-Type": "application/json"}), 400, "bad_json")
    err(_post(url, "/v1/check", k, b'{"title": NaN}', headers={"Content-Type": "application/json"}), 400, "bad_json")
    err(_post(url, "/v1/check", k, b"[" * 100_000, headers={"Content-Type": "application/json"}), 400, "bad_json")
    err(_post(url, "/v1/check", k, "title=x", headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert err(_post(url, "/v1/check", k, {"title": 5}), 400, "invalid_listing")["field"] == "title"
    assert err(_post(url, "/v1/check", k, {"title": "x", "evil": 1}), 400, "invalid_listing")["field"] == "evil"
    assert err(_post(url, "/v1/check", k, {"description": ""}), 400, "invalid_listing")["field"] == "title"
    assert err(_post(url, "/v1/check", k, {"title": "x", "kind": "bank"}), 400, "invalid_listing")["field"] == "kind"
    assert err(_post(url, "/v1/check", k, {"title": "x", "contacts": "qq"}), 400, "invalid_listing")["field"] == \
        "contacts"
    err(_post(url, "/v1/check", k, {"title": "x" * 300_000}), 413, "too_large")
    err(_post(url, "/v1/check/batch", k, {"listings": [{"title": "x"}] * 1001}), 413, "batch_too_large")
    bad = err(_post(url, "/v1/check/batch", k, {"listings": [{"title": "x"}, {"title": ["x"]}]}), 400,
              "invalid_listing")
    assert bad["index"] == 1 and bad["field"] == "title"
    err(_post(url, "/v1/check/batch", k, [{"title": "x"}]), 400, "invalid_batch")
    err(requests.get(url + "/v1/check", timeout=10), 405, "method_not_allowed")
    err(requests.get(url + "/nope", timeout=10), 404, "not_found")


def test_rate_limit_revocation_health_and_schema(api, tmp_path):
    url, keys, db, _ = api
    codes = [_post(url, "/v1/check", keys["slow"], {"title": "x"}) for _ in range(8)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and limited[0].json()["error"]["code"] == "rate_limited"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert _post(url, "/v1/check", keys["main"], {"title": "x"}).status_code == 200   # other keys unaffected

    assert _post(url, "/v1/check", keys["gone"], {"title": "x"}).status_code == 200
    from cli.main import cli

    result = CliRunner().invoke(cli, ["keys", "revoke", "gone", "--db", str(db)])
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 10
    while _post(url, "/v1/check", keys["gone"], {"title": "x"}).status_code != 401:
        assert time.monotonic() < deadline, "a revoked key still works"
        time.sleep(0.05)

    health = requests.get(url + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["banks"]["contact"] >= 1 and health["banks"]["signature"] == 1
    schema = requests.get(url + "/openapi.json", timeout=10).json()
    assert schema["openapi"].startswith("3.1") and {"/v1/check", "/v1/check/batch", "/healthz"} <= set(schema["paths"])


def test_keys_cli_stores_only_a_hash_in_a_private_file(tmp_path):
    from store.accounts import accounts_path
    from cli.main import cli

    db = tmp_path / "sweep.db"
    out = CliRunner().invoke(cli, ["keys", "add", "backend", "--rate", "20", "--db", str(db)])
    assert out.exit_code == 0, out.output
    key = out.output.splitlines()[0]
    assert key.startswith("swk_") and len(key) > 40
    path = accounts_path(db)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.encode() not in path.read_bytes() and key.encode() not in (
        path.with_name(path.name + "-wal").read_bytes() if path.with_name(path.name + "-wal").exists() else b"")
    listed = CliRunner().invoke(cli, ["keys", "list", "--db", str(db)])
    assert "backend" in listed.output and "20/s" in listed.output
    again = CliRunner().invoke(cli, ["keys", "add", "backend", "--db", str(db)])
    assert again.exit_code == 1 and "exists" in again.output
    assert CliRunner().invoke(cli, ["keys", "revoke", "nobody", "--db", str(db)]).exit_code == 1
