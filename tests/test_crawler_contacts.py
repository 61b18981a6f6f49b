import pytest

from crawler.contacts import find_contacts


@pytest.mark.parametrize("text, expected", [
    ("懂的来 QQ 123456789", [("qq", "123456789")]),
    ("加扣扣：12345 6789 详聊", [("qq", "123456789")]),
    ("🐧123456780", [("qq", "123456780")]),
    ("企鹅号=123450001", [("qq", "123450001")]),
    ("ＱＱ１２３４５６７８９", [("qq", "123456789")]),
    ("薇 abc_demo", [("wechat", "abc_demo")]),
    ("vx: demo_seller01，备注来意", [("wechat", "demo_seller01")]),
    ("飞机 @demo_xxx", [("telegram", "demo_xxx")]),
    ("TG:demo_shop 价格私聊", [("telegram", "demo_shop")]),
    ("电话 138-0000-0000", [("phone", "13800000000")]),
    ("QQ 123456789 或 微信 abc_demo", [("qq", "123456789"), ("wechat", "abc_demo")]),
])
def test_handles_are_found_and_normalised(text, expected):
    assert [(c["type"], c["value"]) for c in find_contacts(text)] == expected


@pytest.mark.parametrize("text", ["4G 500Mbps v2 版本", "B-52 轰炸机模型 1:72", "价格 12345 元", "", "猫粮 10kg"])
def test_ordinary_text_has_no_handles(text):
    assert find_contacts(text) == []


# Each disguise sellers use, undone by the normaliser (crawler.contacts.unmask) before matching.
@pytest.mark.parametrize("text, expected", [
    ("售后加 扣 扣：123450077", [("qq", "123450077")]),                              # 扣 扣: a space in the cue
    ("V ❤️ abc_demo 备注来意", [("wechat", "abc_demo")]),                            # V ❤: decoration as separator
    ("频道 t点me/demo_bomb01 看置顶", [("telegram", "demo_bomb01")]),                 # t点me: the dot written out
    ("频道 t[.]me/demo_bomb01", [("telegram", "demo_bomb01")]),
    ("https://t.me/s/demo_chan01", [("telegram", "demo_chan01")]),
    ("薇信号 abc_demo2", [("wechat", "abc_demo2")]),                                  # 薇信: homophone cue
    ("企鹅：１２３４５６７８８", [("qq", "123456788")]),                              # full-width digits
    ("QQ 1 2 3 4 5 6 7 8 7", [("qq", "123456787")]),                                  # spaced digits
    ("扣扣 一二三四五零零八八", [("qq", "123450088")]),                               # Chinese numerals
    ("Q群 123450066 进群拿货", [("qq_group", "123450066")]),                          # a group, not a person
    ("售后群号：123450055", [("qq_group", "123450055")]),
])
def test_disguised_handles_are_normalised(text, expected):
    assert [(c["type"], c["value"]) for c in find_contacts(text)] == expected


def test_cloud_drive_links_keep_the_link_not_the_code():
    text = "下载地址：https://pan.sandbox.test/s/1DemoQx7 提取码：ab12\n备用 lanzou点sandbox点test/iDemo01"
    assert [(c["type"], c["value"]) for c in find_contacts(text)] == [
        ("netdisk", "pan.sandbox.test/s/1DemoQx7"), ("netdisk", "lanzou.sandbox.test/iDemo01")]


def test_released_binaries_are_entities_but_generic_names_are_not():
    text = "Releases: HSN_Pro_v3.2.apk, hsn-pro-win64.zip, setup.exe, app-release.apk, README.md；下载DemoBomb.exe"
    assert [c["value"] for c in find_contacts(text) if c["type"] == "file"] == [
        "hsn_pro_v3.2.apk", "hsn-pro-win64.zip", "demobomb.exe"]


@pytest.mark.parametrize("text", ["japan.example.com/tour/2026", "下午3点30分见", "版本 v2.1 更新说明",
                                  "pkg/config.zip", "下载 v1.0.zip"])
def test_ordinary_text_has_no_entities(text):
    assert find_contacts(text) == []
