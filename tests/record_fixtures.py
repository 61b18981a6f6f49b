"""Re-record the golden extraction fixtures from the sandbox: `python -m tests.record_fixtures`.

Saves raw response bytes (forum pages stay GBK) and writes what the profiles extract today
as the expected JSON. Review the JSON diff before committing: it is the contract.
"""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from sandbox.catalogue import Catalogue
from sandbox.process import SandboxProcess

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def pages(cat: Catalogue) -> list[tuple[str, str, str]]:
    """(profile, fixture name, path) for a spread of page types."""
    item = next(r for r in cat.market.values() if not r.js_description and r.label != "benign")
    js_item = next(r for r in cat.market.values() if r.js_description)
    app = next(r for r in cat.apps.values() if r.label != "benign")
    thread = max(cat.threads.values(), key=lambda r: (sum(bool(x["quote"]) for x in r.replies[:4]), len(r.replies)))
    channel = cat.channels["demo_hongzha_bot"]
    return [
        ("marketplace", "item", f"/item/{item.pid}"),
        ("marketplace", "item_js", f"/item/{js_item.pid}"),
        ("marketplace", "search", "/search?q=%E7%8C%AB"),
        ("appstore", "app", f"/app/{app.pid}"),
        ("appstore", "api_search", "/api/search?q=%E7%9F%AD%E4%BF%A1"),
        ("forum", "thread", f"/thread-{thread.pid}-1-1.html"),
        ("forum", "thread_page2", f"/thread-{thread.pid}-2-1.html"),
        ("forum", "board", "/forum.php?mod=forumdisplay&fid=5"),
        ("codehost", "repo", "/demo-hzq/duanxin-yace"),
        ("codehost", "api_search", "/api/search/repositories?q=%E5%8A%9F%E8%83%BD"),    # 功能: several pages
        ("codehost", "explore", "/explore"),
        ("social", "channel", f"/s/{channel.pid}"),
        ("social", "channel_older", f"/s/{channel.pid}?before={channel.extra['posts'][-10]['id']}"),
        ("social", "directory", "/channels"),
    ]


PORTS = {"marketplace": 8701, "appstore": 8702, "forum": 8703, "codehost": 8704, "social": 8705}


def main(only: list[str] | None = None) -> None:
    """Record every fixture, or only those of the profiles named (``python -m tests.record_fixtures social``)."""
    from tests.test_crawler_extract import extract

    cat = Catalogue(2018)
    with SandboxProcess(rate_limit=0) as sb:
        for profile, name, path in pages(cat):
            if only and profile not in only:
                continue
            with urllib.request.urlopen(sb.urls[profile] + path) as resp:
                body, ctype = resp.read(), resp.headers["Content-Type"]
                link = resp.headers.get("Link")
            url = f"http://127.0.0.1:{PORTS[profile]}{path}"
            folder = FIXTURES / profile
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.body").write_bytes(body)
            meta = {"url": url, "content_type": ctype, **({"link": link} if link else {})}
            (folder / f"{name}.json").write_text(json.dumps({**meta, "expected": extract(profile, url, body, ctype,
                                                                                          link)},
                                                            ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            print(f"recorded {profile}/{name}")


if __name__ == "__main__":
    main(sys.argv[1:])
