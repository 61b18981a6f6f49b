"""The Listing contract every spider yields and every pipeline stage reads."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Listing:
    id: str                      # "<platform>:<platform's own id>", stable across crawls
    platform: str
    platform_id: str
    kind: str                    # ecommerce | appstore | forum | code | social
    url: str
    title: str = ""
    description: str = ""
    price: float | str | None = None      # as extracted; the amount once normalised (crawler/price.py)
    price_text: str | None = None         # the price as the page shows it: what the classifier reads
    currency: str | None = None
    price_unit: str | None = None         # 月, 条, 次 … when the price is per something
    seller_name: str | None = None
    seller_id: str | None = None
    seller_url: str | None = None
    # {"type": qq|qq_group|wechat|telegram|phone|netdisk|file, "value"}
    contacts: list[dict] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)              # kind-specific: version, downloads, replies...
    crawled_at: str = ""
    content_hash: str = ""
    rendered: bool = False       # came through the browser
    # Set by pipeline stages:
    status: str = "new"          # new | changed | seen (dedupe/version)
    version: int = 1
    classification: dict | None = None
