"""The site-profile reference (docs/profiles.md), generated from the profile schema.

Every key the schema accepts must have an entry in ``KEY_DOCS`` — what it does and an example —
or generation fails; a test regenerates the page and compares, so the reference cannot drift
from what ``crawler/profile.py`` accepts.

    python -m crawler.profile_reference > docs/profiles.md
"""
from __future__ import annotations

import sys

from .profile import SCHEMA

_SEL = ("a selector, or a list of them tried in order: `css:…`, `xpath:…`, `jmes:…` (JSON, or the page's "
        "`embedded` blob) or `header:Name` (a response header; `header:Link[rel=next]` reads an RFC 8288 Link)")
# key -> (what it does, an example value as YAML)
KEY_DOCS: dict[str, tuple[str, str]] = {
    "name": ("Unique name; listing ids become `<name>:<platform id>` and `--platform`/`--base-url` use it.",
             "my_market"),
    "kind": ("Which spider crawls it, and the listing kind stored.", "ecommerce"),
    "enabled": ("`false` keeps the profile but leaves it out of crawls unless named with `--platform`.", "true"),
    "description": ("Free text shown in `sweep stats` and the dashboard.", "\"Second-hand marketplace\""),
    "base_url": ("Scheme and host that relative seeds and links resolve against (`--base-url NAME=URL` "
                 "overrides it).", "https://market.example"),
    "allowed_hosts": ("Hosts every request may go to (`*.example.com` for subdomains; never a wildcard on a "
                      "public suffix such as `*.com`). Redirects and what a rendered page fetches are held "
                      "to it too.", "[market.example, img.market.example]"),
    "allow_loopback": ("Allow 127.0.0.0/8 and ::1 addresses — for the bundled sandbox only; real platforms "
                       "never need it.", "true"),
    "encoding": ("A hint for pages that do not declare their charset.", "gb18030"),
    "politeness": ("How hard to crawl the platform (robots.txt is always obeyed).",
                   "{download_delay: 1.0, concurrency: 2}"),
    "politeness.download_delay": ("Minimum seconds between requests; AutoThrottle never goes below it.", "1.0"),
    "politeness.concurrency": ("Requests in flight at once (1–64).", "2"),
    "monitors": ("Per-platform thresholds of the crawl monitors; `[monitors]` in the config sets defaults.",
                 "{min_listings: 20}"),
    "monitors.min_listings": ("Fail the run when fewer listings were stored.", "20"),
    "monitors.max_validation_errors": ("Listings allowed to break the listing schema or be dropped.", "5"),
    "monitors.max_error_ratio": ("Share of requests allowed to fail (a retried failure counts once).", "0.1"),
    "monitors.max_retry_ratio": ("Share of downloads allowed to be retries (throttling, 5xx).", "0.25"),
    "monitors.max_spider_errors": ("Pages allowed to raise during extraction.", "0"),
    "monitors.max_empty_description_ratio": ("Share of listings allowed an empty description (valid, but a "
                                             "description selector that stopped matching makes all empty).",
                                             "0.5"),
    "monitors.max_unrendered_ratio": ("Share of `listing.browser.when` pages allowed to be stored without the "
                                      "browser (their placeholder becomes the description).", "0.1"),
    "seeds": ("Where a crawl starts: searches and/or list pages (at least one).",
              "{search: [\"/search?q={keyword}\"], pages: [/category/phones]}"),
    "seeds.search": ("Search URL templates; `{keyword}` is replaced by each keyword (URL-encoded).",
                     "[\"/search?q={keyword}\", \"/api/search?kw={keyword}\"]"),
    "seeds.keywords": ("`default` (crawler/keywords.txt) or this platform's own list.", "[猫池, 呼死你]"),
    "seeds.pages": ("Category or board pages crawled whatever the keywords (they find evasive sellers).",
                    "[/category/phones, \"forum.php?mod=forumdisplay&fid=2\"]"),
    "list": ("How to read a search result, category or board page.", "{links: \"css:a.item::attr(href)\"}"),
    "list.links": (f"Links to listings on a list page: {_SEL}.",
                   "[\"jmes:results[*].url\", \"css:ul.apps a::attr(href)\"]"),
    "list.next": (f"The next list page: {_SEL}.", "\"css:a.next::attr(href)\""),
    "list.max_pages": ("Stop following `next` after this many list pages per seed (default 1000).", "50"),
    "list.embedded": ("The JSON state blob a list page carries (see `listing.embedded`); `jmes:` list "
                      "selectors then read it.", "window.__INITIAL_STATE__"),
    "list.page_param": ("Pagination by page number for lists without a next link: the named query "
                        "parameter counts up until a page lists nothing or the page says it was past its total.",
                        "{name: page, total: \"jmes:total\", size: \"jmes:size\"}"),
    "list.page_param.name": ("The query parameter holding the page number.", "page"),
    "list.page_param.first": ("The number of the first page (default 1).", "0"),
    "list.page_param.total": (f"Total items, read from the page: {_SEL}.", "\"jmes:total\""),
    "list.page_param.size": (f"Items per page, read from the page: {_SEL}.", "\"jmes:size\""),
    "listing": ("How to recognise and read a listing page.", "{url: '/item/(?P<id>\\d+)', fields: {…}}"),
    "listing.url": ("Regular expression a listing URL matches; the named group `id` is the platform id.",
                    "'/item/(?P<id>\\d+)$'"),
    "listing.fields": ("Selectors of the listing's fields; `title` and `description` are required keys "
                       "(an empty description is valid).", "{title: \"css:h1::text\", description: …}"),
    "listing.fields.title": (f"Title (required on every listing): {_SEL}.", "\"css:h1.item-title::text\""),
    "listing.fields.description": (f"Description; `<br>` line breaks are kept: {_SEL}.",
                                   "\"css:div#desc ::text\""),
    "listing.fields.price": (f"The price as shown (`¥12,800.00`, `NT$1,200`, `30元/月`, `面议`): {_SEL}.",
                             "\"css:span.price::text\""),
    "listing.fields.seller_name": (f"Seller or author name; kept even without a seller link: {_SEL}.",
                                   "\"css:a.shop::text\""),
    "listing.fields.seller_url": (f"Link to the seller's page (its id is read with `listing.seller_id`): {_SEL}.",
                                  "\"css:a.shop::attr(href)\""),
    "listing.fields.images": (f"Image URLs: {_SEL}.", "\"css:div.gallery img::attr(src)\""),
    "listing.fields.developer": (f"App developer (app stores): {_SEL}.", "\"css:a.developer::text\""),
    "listing.fields.version": (f"App version (app stores): {_SEL}.", "\"css:span.version::text\""),
    "listing.fields.downloads": (f"Download count (app stores): {_SEL}.", "\"css:span.downloads::text\""),
    "listing.fields.replies": (f"Replies of a thread, one string each (forums): {_SEL}.",
                               "\"css:td.t_f ::text\""),
    "listing.fields.posts": (f"A channel's posts, one string each; later pages (`listing.next`) add older ones "
                             f"(social): {_SEL}.", "\"css:div.post div.text ::text\""),
    "listing.fields.topics": (f"A repository's topics (code hosts): {_SEL}.", "\"jmes:repo.topics[*]\""),
    "listing.fields.stars": (f"A repository's star count (code hosts): {_SEL}.", "\"jmes:repo.stars\""),
    "listing.fields.files": (f"File names of released binaries — they link listings across platforms (code "
                             f"hosts): {_SEL}.", "\"jmes:repo.releases[*].assets[*].name\""),
    "listing.seller_id": ("Regular expression with group `id` read from `seller_url`; without a link the id "
                          "is derived from the seller's name.", "'/shop/(?P<id>[\\w-]+)'"),
    "listing.embedded": ("The JSON state blob a page carries — a selector of the script's text, or the "
                         "JavaScript name it is assigned to; `jmes:` fields then read it without a browser.",
                         "window.__INITIAL_STATE__"),
    "listing.strip": (f"Parts removed before reading fields (quoted replies, ads): {_SEL}.",
                      "\"css:div.quote\""),
    "listing.next": (f"The next page of a multi-page listing (forum threads): {_SEL}.",
                     "\"css:div.pg a.nxt::attr(href)\""),
    "listing.max_pages": ("Pages of one multi-page listing to follow (default 20).", "10"),
    "listing.attachments": ("Files a listing page links to whose text is kept with the listing in "
                            "`extra.attachments` ([{url, path, text}]) — a repository's config files, which "
                            "`sweep endpoints` reads. Followed in the crawl, through the same policy as every page.",
                            "{links: \"css:ul.tree a::attr(href)\", match: '/blob/[^/]+/[^/]+\\.(ya?ml|json)$'}"),
    "listing.attachments.links": (f"Links to candidate files: {_SEL}.", "\"css:ul.tree a.tree-file::attr(href)\""),
    "listing.attachments.match": ("Regular expression a link must match (searched) to be followed.",
                                  "'/blob/main/(?!src/)[^?#]+\\.(ya?ml|json|py|conf)$'"),
    "listing.attachments.text": (f"The file's text on its page (default: the whole body's text): {_SEL}.",
                                 "\"css:pre.blob::text\""),
    "listing.attachments.max": ("Files followed per listing (default 5).", "3"),
    "listing.attachments.max_chars": ("Characters kept of each file (default 20000).", "20000"),
    "listing.browser": ("Render in Chromium only the pages this matches; everything else is plain HTTP.",
                        "{when: \"css:div#desc[data-render=js]\", wait_for: \"css:div#desc.loaded\"}"),
    "listing.browser.when": ("Selector that marks a page needing the browser (checked on the plain page).",
                             "\"css:div#desc[data-render=js]\""),
    "listing.browser.wait_for": ("Selector to wait for after load; it must match **every** end state of the "
                                 "page (loaded, empty, removed), or those pages time out.",
                                 "\"css:div#desc.loaded, div.item-offline\""),
    "listing.browser.timeout_ms": ("How long to wait for the page and `wait_for` (default 15000).", "15000"),
    "listing.removed": ("How the platform shows a removed listing, for rechecks.",
                        "{status: [404, 410], text: [商品已下架], redirect_to: [/search]}"),
    "listing.removed.status": ("HTTP statuses that mean removed.", "[404, 410]"),
    "listing.removed.text": ("Texts on a 200 page that mean removed (soft 404).", "[商品已下架, 该宝贝已被删除]"),
    "listing.removed.redirect_to": ("Redirect targets (path prefixes) that mean removed.", "[/search]"),
}


def schema_keys(schema: dict = SCHEMA, prefix: str = "") -> list[tuple[str, dict, bool]]:
    """(dotted key, its schema, required) for every key the schema accepts, in schema order."""
    out = []
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{prefix}.{key}" if prefix else key
        out.append((dotted, sub, key in required))
        if "properties" in sub:
            out.extend(schema_keys(sub, dotted))
    return out


def _type(sub: dict) -> str:
    if "enum" in sub:
        return " | ".join(f"`{v}`" for v in sub["enum"])
    if "oneOf" in sub or sub.get("pattern", "").startswith("^(css"):
        return "selector(s)"
    return str(sub.get("type", "any"))


def render() -> str:
    missing = [key for key, _, _ in schema_keys() if key not in KEY_DOCS]
    if missing:
        raise KeyError(f"profile keys without documentation in crawler/profile_reference.py: {', '.join(missing)}")
    lines = ["# Site profile reference", "",
             "Generated from the profile schema by `python -m crawler.profile_reference` — do not edit by hand.",
             "A profile is one YAML file in `crawler/profiles/` (or a `--profiles` directory); see",
             "[Adding a platform](crawling.md#adding-a-platform) for a whole example. "
             "Unknown keys are refused at load.", ""]
    for key, sub, required in schema_keys():
        doc, example = KEY_DOCS[key]
        depth = key.count(".")
        lines += [f"{'#' * min(2 + depth, 4)} `{key}`{' (required)' if required else ''}", "",
                  f"{_type(sub)} — {doc}", "", "```yaml", _example_yaml(key, example), "```", ""]
    return "\n".join(lines)


def _example_yaml(key: str, example: str) -> str:
    *parents, leaf = key.split(".")
    lines = [f"{'  ' * i}{p}:" for i, p in enumerate(parents)]
    return "\n".join([*lines, f"{'  ' * len(parents)}{leaf}: {example}"])


if __name__ == "__main__":
    sys.stdout.write(render())
