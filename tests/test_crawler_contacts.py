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
