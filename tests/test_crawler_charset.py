"""Wrong and missing charsets (crawler/middlewares/charset.py): the page is decoded as what it is.

Unit checks of the decision on real encodings, then real crawls of the GBK forum (profile hint
``gbk``) and the UTF-8 app store on the fault sandbox: GBK served as ``charset=utf-8``, and GBK,
GB18030 and Big5 with no charset anywhere.
"""
from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.middlewares.charset import choose
from sandbox import faults
from tests.fixtures_faults import fault_crawl

TEXT = "呼死你 电话轰炸 包月版，专业呼叫轰炸，对方手机一直响停不下来。猫池 语音网关 改号 短信轰炸机"
TRADITIONAL = "呼死你 電話轟炸 包月版，專業呼叫轟炸，對方手機一直響停不下來。貓池 語音閘道 改號 簡訊轟炸機"


def page(text: str) -> str:
    return f"<html><head><title>{text[:12]}</title></head><body><h1>{text}</h1><p>{text}</p></body></html>"


PAGE = page(TEXT)


def test_scrapy_alone_turns_gbk_declared_as_utf8_into_replacement_characters():
    response = HtmlResponse("http://127.0.0.1/x", body=PAGE.encode("gbk"),
                            headers={"Content-Type": "text/html; charset=utf-8"})
    assert response.text.count("\ufffd") > 20          # what the middleware exists for


@pytest.mark.parametrize("body, header, meta, hint, expected", [
    (PAGE.encode("gbk"), "utf-8", None, "utf-8", {"gb18030", "gbk"}),          # wrong header, detector
    (PAGE.encode("gbk"), "utf-8", None, "gbk", {"gbk", "gb18030"}),            # wrong header, profile hint
    (PAGE.encode("gbk"), "utf-8", "gbk", "utf-8", {"gbk", "gb18030"}),         # header wrong, <meta> right
    (PAGE.encode("gb18030"), None, None, None, {"gb18030", "gbk"}),            # nothing declared
    (page(TRADITIONAL).encode("big5"), None, None, "gbk", {"big5", "big5hkscs", "cp950"}),
])
def test_a_wrong_or_missing_charset_is_replaced_by_one_that_decodes_cleanly(body, header, meta, hint, expected):
    encoding, why = choose(body, header, meta, hint, 0.02)
    assert encoding in expected, why
    assert "\ufffd" not in body.decode(encoding)


@pytest.mark.parametrize("body, header, hint", [
    (PAGE.encode("utf-8"), "utf-8", "gbk"),                                     # right: a hint never overrides
    (PAGE.encode("gbk"), "gbk", "utf-8"),
    (PAGE.encode("utf-8"), None, "gbk"),                                        # undeclared but UTF-8
    (PAGE.encode("utf-8")[:-60] + b"\xe5\x91" + PAGE.encode("utf-8")[-60:], "utf-8", None),   # one broken character
    (b"<html><body>plain ASCII</body></html>", None, "big5"),
])
def test_a_right_charset_is_left_alone(body, header, hint):
    assert choose(body, header, None, hint, 0.02)[0] is None


FORUM_KINDS = ["gbk-as-utf8", "gbk-no-charset", "gb18030-no-charset", "big5-no-charset"]
APP_KINDS = ["gbk-as-utf8", "gbk-no-charset", "big5-no-charset"]


@pytest.fixture(scope="module")
def crawls(fault_sandbox, tmp_path_factory):
    return {
        "forum": fault_crawl(tmp_path_factory.mktemp("forum"), fault_sandbox, "forum",
                             f"kinds={','.join(FORUM_KINDS)}&lists=gbk-as-utf8&normal=2"),
        "appstore": fault_crawl(tmp_path_factory.mktemp("appstore"), fault_sandbox, "appstore",
                                f"kinds={','.join(APP_KINDS)}&normal=2"),
    }


@pytest.mark.parametrize("platform, kinds", [("forum", FORUM_KINDS), ("appstore", APP_KINDS)])
def test_mis_declared_pages_are_stored_as_written(crawls, catalogue, platform, kinds):
    crawl = crawls[platform]
    assert crawl.returncode == 0 and crawl.stats["finish_reason"] == "finished"
    for kind in kinds:
        row = faults.fault_row(catalogue, platform, kind)
        got = crawl.listing(row.key)
        assert got is not None, kind
        assert (got["title"], got["description"]) == (row.title.strip(), row.description.strip()), kind
    for row in crawl.rows("SELECT id, title, description, extra FROM listings"):
        assert "\ufffd" not in row["title"] + row["description"] + row["extra"], row["id"]


@pytest.mark.parametrize("platform, kinds", [("forum", FORUM_KINDS), ("appstore", APP_KINDS)])
def test_each_re_decoded_page_is_counted_and_logged_once(crawls, fault_sandbox, platform, kinds):
    crawl = crawls[platform]
    pages = len(kinds) + (1 if platform == "forum" else 0)          # + the forum's mis-declared list page
    assert crawl.stat("sweep/faults/charset_redecoded") == pages     # correctly declared pages are not touched
    assert not crawl.stat("sweep/faults/charset_undecodable")
    for kind in kinds:
        url = fault_sandbox.urls[platform] + faults.listing_path(platform, kind, faults.fault_pid(kind))
        [line] = crawl.lines("WARNING", f"{platform}: {url} declares")
        declared = "charset=utf-8" if kind == "gbk-as-utf8" else "no charset"
        assert f"declares {declared} but is " in line and line.endswith("re-decoded")
        assert ("big5" in line) == (kind == "big5-no-charset")


def test_the_profile_hint_decides_between_equally_clean_encodings(crawls, fault_sandbox):
    kind = "gbk-no-charset"
    url = fault_sandbox.urls["forum"] + faults.listing_path("forum", kind, faults.fault_pid(kind))
    [line] = crawls["forum"].lines("WARNING", url)
    assert "(by the profile's encoding)" in line
    # …but not against the bytes: Big5 also decodes "cleanly" as GBK, into nonsense.
    kind = "big5-no-charset"
    url = fault_sandbox.urls["forum"] + faults.listing_path("forum", kind, faults.fault_pid(kind))
    [line] = crawls["forum"].lines("WARNING", url)
    assert "(by charset-normalizer)" in line
