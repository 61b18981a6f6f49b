"""Defects that sites Sweep had never seen exposed (issue #10), each on a page that reproduces it.

The profiles here are what a new user writes for a classifieds site, an app market with a JSON
API and a phpBB-style board; the pages are cut down from what those sites serve.
"""
from __future__ import annotations

from crawler.extract import ListingPage, name_seller_id
from crawler.profile import parse_profile

CLASSIFIEDS = parse_profile({
    "name": "classifieds", "kind": "ecommerce", "base_url": "http://127.0.0.1:9001",
    "allowed_hosts": ["127.0.0.1"], "allow_loopback": True,
    "seeds": {"pages": ["/list/phones"]},
    "list": {"links": "css:a.post::attr(href)"},
    "listing": {"url": r"/post/(?P<id>\d+)\.html$",
                "fields": {"title": "css:h1::text", "description": "css:div.desc ::text",
                           "price": "css:span.price::text", "seller_name": "css:span.poster::text"}},
}, "test:classifieds")


def listing(profile, url: str, html: str):
    return ListingPage(url, html, profile).to_listing()


def test_a_seller_shown_without_a_link_is_kept_under_an_id_derived_from_the_name():
    page = ('<h1>九成新 手机</h1><div class="desc">自用一年</div><span class="price">¥1,200</span>'
            '<span class="poster">  张师傅  </span>')
    one = listing(CLASSIFIEDS, "http://127.0.0.1:9001/post/11.html", page)
    two = listing(CLASSIFIEDS, "http://127.0.0.1:9001/post/12.html", page.replace("手机", "平板"))
    other = listing(CLASSIFIEDS, "http://127.0.0.1:9001/post/13.html", page.replace("张师傅", "李师傅"))
    assert one.seller_name == "张师傅" and one.seller_url is None
    assert one.seller_id == two.seller_id == name_seller_id("张师傅")     # one seller across their posts
    assert other.seller_id != one.seller_id
    nameless = listing(CLASSIFIEDS, "http://127.0.0.1:9001/post/14.html", page.replace("张师傅", ""))
    assert nameless.seller_id is None and nameless.seller_name is None
