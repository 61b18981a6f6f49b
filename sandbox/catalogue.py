"""The sandbox's deterministic catalogue: hand-written rows placed on five platforms.

The rows in ``catalogue/*.jsonl`` are written by hand (see docs/corpus-format.md). A seed
decides everything else — ids, sellers, prices, categories, which item pages fill their
description in with JavaScript, reposts by other sellers and moderation outcomes — so
two runs with the same seed serve byte-identical platforms.

Ground truth (``Catalogue.ground_truth``) is for tests and benchmarks only: the crawler
and the classifier never import this module.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from . import ordinary, ordinary_channels

DATA_DIR = Path(__file__).parent / "catalogue"

MARKET_CATEGORIES = {
    "software": "软件服务",
    "telecom": "通信设备",
    "accessories": "手机配件",
    "hobby": "模型玩具",
    "pets": "宠物用品",
    "other": "其他",
}
APP_CATEGORIES = {"tools": "实用工具", "communication": "通讯社交", "business": "商务办公", "life": "生活服务"}
FORUM_BOARDS = {2: "数码交流", 5: "软件分享", 7: "二手交易", 9: "求助问答", 12: "新闻杂谈"}

# Moderation outcomes when a listing is reported (weights are per mille).
OUTCOMES = [("gone_404", 220), ("gone_410", 150), ("soft_removed", 250), ("redirect", 130),
            ("never", 130), ("relist", 120)]

_SHOP_HEADS = ["星辰", "小鹿", "阿飞", "蓝海", "橙子", "老王", "鑫源", "华信", "云端", "极客", "诚信", "旺旺",
               "优品", "匠心", "数码", "青柠", "北极", "南山", "东篱", "西岭", "安心", "快马", "金牛", "银狐"]
_SHOP_TAILS = ["数码店", "小铺", "工作室", "杂货铺", "通讯", "电子", "科技店", "优选", "精品店", "二手铺"]
_USER_HEADS = ["路人", "老司机", "萌新", "技术宅", "吃瓜", "潜水", "夜猫", "打工人", "小白", "大叔"]
_GENERIC_REPLIES = [
    "顶一下", "mark，回头再看", "楼主辛苦了", "路过帮顶", "沙发", "看看不说话", "同问", "学习了，感谢分享",
    "这年头什么都有", "已阅", "楼上说得对", "收藏了", "蹲一个后续", "支持楼主", "+1", "有点意思",
    "坐等更新", "前排围观", "说得很详细", "我也遇到过类似的情况",
]
_REPOST_PREFIXES = ["【现货】", "急出 ", "包邮 ", "【新到】", "特价 ", "【热卖】", "秒发 ", "【正品】"]


@dataclass
class Row:
    """One listing as the sandbox serves it."""

    key: str                 # "<platform>:<platform id>" — the id Sweep should derive
    platform: str
    pid: str
    kind: str
    title: str
    description: str
    label: str
    source_id: str
    seller_id: str
    seller_name: str
    price: str | None = None
    category: str = "other"
    developer: str | None = None
    version: str | None = None
    downloads: int | None = None
    js_description: bool = False
    replies: list[dict] = field(default_factory=list)   # forum: {"author", "text", "quote"}
    author: str | None = None
    outcome: str = "never"
    tactics: list[str] = field(default_factory=list)
    hard_negative: str | None = None
    extra: dict = field(default_factory=dict)   # code: owner, repo, about, topics, stars, files, config;
                                                 # social: about, pinned, posts [{id, date, text, forwarded}]


def load_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """Hand-written rows, in file then line order."""
    rows = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name}:{n}: not JSON: {exc}") from None
    return rows


def _weighted(rng: random.Random, table) -> str:
    names, weights = zip(*table)
    return rng.choices(names, weights=weights)[0]


NEWER_KINDS = ("code", "social")     # the code host and the channel site: placed from their own random stream


class Catalogue:
    """All listings of the five platforms for one seed."""

    def __init__(self, seed: int = 2018, rows: list[dict] | None = None, repost_share: float = 0.5,
                 ordinary_ratio: float = 10.0):
        self.seed = seed
        rng = random.Random(seed)
        # Page dressing and ordinary volume draw from their own streams, so the hand-written rows
        # keep the ids, sellers and outcomes a seed gave them before either existed.
        self._dress = random.Random(seed + 1)
        rows = load_rows() if rows is None else rows
        newer = [r for r in rows if r["kind"] in NEWER_KINDS]
        rows = [r for r in rows if r["kind"] not in NEWER_KINDS]
        self.market: dict[str, Row] = {}
        self.apps: dict[str, Row] = {}
        self.threads: dict[str, Row] = {}
        self.repos: dict[str, Row] = {}       # "owner/repo" -> Row
        self.channels: dict[str, Row] = {}    # channel name -> Row
        self.sellers: dict[str, str] = {}     # seller id -> display name
        self._shady = [self._new_seller(rng, "s") for _ in range(24)]
        self._honest = [self._new_seller(rng, "s") for _ in range(60)]
        self._devs = {True: [f"{h}网络工作室" for h in rng.sample(_SHOP_HEADS, 8)],
                      False: [f"{h}科技有限公司" for h in rng.sample(_SHOP_HEADS, 12)]}
        self._next = {"ecommerce": 600000 + rng.randrange(1000), "appstore": 3000 + rng.randrange(100),
                      "forum": 88000}
        add = {"ecommerce": self._add_item, "appstore": self._add_app, "forum": self._add_thread}
        # Reposts are what real platforms are full of: the same goods re-titled by another
        # shop, an app cloned under another name, a thread reposted by another user.
        share = {"ecommerce": repost_share, "appstore": repost_share / 2, "forum": repost_share / 2}
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i in order:
            src = rows[i]
            for copy in range(2 if rng.random() < share[src["kind"]] else 1):
                self._next[src["kind"]] += rng.randrange(3, 40)
                add[src["kind"]](rng, src, str(self._next[src["kind"]]), copy)
        self._add_ordinary(random.Random(seed + 2), ordinary_ratio)
        self._add_newer(random.Random(seed + 3), newer, ordinary_ratio)

    def _add_ordinary(self, rng: random.Random, ratio: float) -> None:
        """Everyday listings until ordinary ones outnumber harmful ones ``ratio`` to one."""
        labels = [row.label for row in self.rows()]
        harmful = sum(label != "benign" for label in labels)
        need = int(ratio * harmful) - (len(labels) - harmful)
        if need <= 0:
            return
        self._honest += [self._new_seller(rng, "s") for _ in range(need // 40)]
        add = {"ecommerce": self._add_item, "appstore": self._add_app, "forum": self._add_thread}
        for src in ordinary.generate(rng, need):
            self._next[src["kind"]] += rng.randrange(1, 9)
            add[src["kind"]](rng, src, str(self._next[src["kind"]]), 0, generated=True)

    def _add_newer(self, rng: random.Random, rows: list[dict], ratio: float) -> None:
        """The code host's repositories and the channel site's channels, each platform at the
        same ten-ordinary-to-one-harmful prevalence as the others."""
        for kind, add, compose in (("code", self._add_repo, ordinary_channels.repository),
                                   ("social", self._add_channel, ordinary_channels.channel)):
            own = [r for r in rows if r["kind"] == kind]
            for src in own:
                add(rng, src)
            harmful = sum(r["label"] != "benign" for r in own)
            for n in range(1, int(ratio * harmful) - (len(own) - harmful) + 1):
                add(rng, compose(rng, n), generated=True)

    def _add_repo(self, rng, src, generated=False):
        pid = f"{src['owner']}/{src['repo']}"
        while pid in self.repos:                 # composed names can collide
            pid += f"-{rng.randrange(10)}"
        self.sellers[src["owner"]] = src["owner"]
        extra = {"owner": src["owner"], "repo": pid.split("/", 1)[1], "about": src["title"],
                 "topics": src.get("topics") or [], "stars": src.get("stars", 0), "files": src.get("files") or [],
                 "config": src.get("config")}
        self.repos[pid] = Row(
            key=f"codehost:{pid}", platform="codehost", pid=pid, kind="code", title=f"{extra['repo']} {src['title']}",
            seller_id=src["owner"], seller_name=src["owner"], extra=extra, **self._common(rng, src))

    def _add_channel(self, rng, src, generated=False):
        name = src["channel"]
        posts = list(src.get("posts") or [])
        if not generated:                        # the channel's everyday posts around its offers
            for text in ordinary_channels.chatter(rng, rng.randrange(4, 18)):
                posts.insert(rng.randrange(len(posts) + 1), text)
        next_id, day = rng.randrange(20, 400), rng.randrange(0, 200)
        shown = []
        for post in posts:
            next_id += rng.randrange(1, 6)
            day += rng.randrange(0, 3)
            post = post if isinstance(post, dict) else {"text": post}
            shown.append({"id": next_id, "date": _date(day, rng), "text": post["text"],
                          "forwarded": post.get("forwarded")})
        extra = {"about": src.get("about", src["description"]), "pinned": src.get("pinned") or "", "posts": shown}
        self.channels[name] = Row(
            key=f"social:{name}", platform="social", pid=name, kind="social", title=src["title"], seller_id=name,
            seller_name=None, extra=extra, **self._common(rng, src))

    def _common(self, rng, src: dict, description: str | None = None) -> dict:
        return {"label": src["label"], "source_id": src["id"], "description": description or src["description"],
                "outcome": _weighted(rng, OUTCOMES), "tactics": src.get("tactics") or [],
                "hard_negative": src.get("hard_negative")}

    def _add_item(self, rng, src, pid, copy, generated=False):
        seller = rng.choice(self._shady if src["label"] != "benign" else self._honest)
        title = src["title"] if not copy else rng.choice(_REPOST_PREFIXES) + src["title"]
        # Most shop pages wrap the goods in notices and after-sales text (the dilution a real crawl meets).
        description = ordinary.shop_page(self._dress, src["description"]) if self._dress.random() < 0.6 else None
        self.market[pid] = Row(
            key=f"marketplace:{pid}", platform="marketplace", pid=pid, kind="ecommerce", title=title,
            seller_id=seller, seller_name=self.sellers[seller], price=self._price(rng, src.get("price"), copy),
            category=self._market_category(src), js_description=not generated and rng.random() < 0.08,
            **self._common(rng, src, description))

    def _add_app(self, rng, src, pid, copy, generated=False):
        dev = src.get("developer") or rng.choice(self._devs[src["label"] != "benign"])
        if copy:
            dev = rng.choice(self._devs[src["label"] != "benign"])
        seller_id = f"d{hash_str(dev) % 10**6}"
        self.sellers[seller_id] = dev
        title = src["title"] + (rng.choice([" Pro", " 极速版", " 2", " Lite", " 新版"]) if copy else "")
        category = rng.choice(list(APP_CATEGORIES))
        version = f"{rng.randrange(1, 6)}.{rng.randrange(0, 10)}.{rng.randrange(0, 20)}"
        description = (ordinary.app_page(self._dress, src["description"], version)
                       if self._dress.random() < 0.7 else None)
        self.apps[pid] = Row(
            key=f"appstore:{pid}", platform="appstore", pid=pid, kind="appstore", title=title,
            seller_id=seller_id, seller_name=dev, developer=dev, category=src.get("app_category") or category,
            version=version,
            downloads=rng.choice([rng.randrange(50, 999), rng.randrange(1000, 99999), rng.randrange(100000, 5000000)]),
            **self._common(rng, src, description))

    def _add_thread(self, rng, src, pid, copy, generated=False):
        author = self._new_seller(rng, "u", users=True)
        board = src.get("board") or self._board(rng, src)
        description = (ordinary.forum_post(self._dress, src["description"], self.sellers[author])
                       if self._dress.random() < 0.5 else None)
        self.threads[pid] = Row(
            key=f"forum:{pid}", platform="forum", pid=pid, kind="forum",
            title=("[转] " if copy else "") + src["title"], seller_id=author, seller_name=self.sellers[author],
            author=author, category=str(board), replies=self._replies(rng, src.get("replies") or []),
            **self._common(rng, src, description))

    # -- construction helpers -------------------------------------------------------------
    def _new_seller(self, rng: random.Random, prefix: str, users: bool = False) -> str:
        while True:
            sid = f"{prefix}{rng.randrange(10000, 99999)}"
            if sid not in self.sellers:
                break
        if users:
            name = f"{rng.choice(_USER_HEADS)}{rng.randrange(100, 9999)}"
        else:
            name = f"{rng.choice(_SHOP_HEADS)}{rng.choice(_SHOP_TAILS)}"
        self.sellers[sid] = name
        return sid

    @staticmethod
    def _price(rng: random.Random, price: str | None, copy: int) -> str:
        try:
            value = float(price) if price else rng.choice([9.9, 19.9, 39, 68, 88, 128, 199, 299, 680])
        except ValueError:
            value = 50.0
        if copy:
            value = max(1.0, value * rng.uniform(0.8, 1.2))
        return f"{value:.2f}"

    @staticmethod
    def _market_category(src: dict) -> str:
        if src.get("market_category"):
            return src["market_category"]
        label, hn = src["label"], src.get("hard_negative")
        if label in ("call_bomber", "caller_id_spoof", "sms_bomber") or hn in ("security_dev", "legit_sms",
                                                                               "anti_harassment"):
            return "software"
        if label in ("modem_pool", "voice_gateway") or hn == "legit_hardware":
            return "telecom"
        if hn == "word_collision":
            text = src["title"] + src["description"]
            return "pets" if "猫" in text else "hobby" if ("模型" in text or "轰炸机" in text) else "other"
        return "accessories" if hn is None else "other"

    @staticmethod
    def _board(rng: random.Random, src: dict) -> int:
        hn = src.get("hard_negative")
        if hn == "news":
            return 12
        if hn == "victim":
            return 9
        if src["label"] in ("modem_pool", "voice_gateway"):
            return rng.choice([2, 7])
        if src["label"] != "benign":
            return rng.choice([5, 7])
        return rng.choice(list(FORUM_BOARDS))

    def _replies(self, rng: random.Random, written: list[str]) -> list[dict]:
        texts = list(written) + rng.sample(_GENERIC_REPLIES, rng.randrange(0, 9))
        rng.shuffle(texts)
        replies = []
        for text in texts:
            author = self._new_seller(rng, "u", users=True)
            quote = None
            if replies and rng.random() < 0.3:   # Discuz "quote" of an earlier reply
                quote = rng.choice(replies)
            replies.append({"author": author, "text": text,
                            "quote": {"author": quote["author"], "text": quote["text"]} if quote else None})
        return replies

    # -- queries ----------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        return [*self.market.values(), *self.apps.values(), *self.threads.values(), *self.repos.values(),
                *self.channels.values()]

    def tables(self) -> dict[str, dict[str, Row]]:
        """platform name -> its listings by platform id."""
        return {"marketplace": self.market, "appstore": self.apps, "forum": self.threads, "codehost": self.repos,
                "social": self.channels}

    def rows_by_key(self) -> dict[str, Row]:
        return {row.key: row for row in self.rows()}

    def ground_truth(self) -> dict[str, str]:
        """listing key -> label; for tests and benchmarks only."""
        return {row.key: row.label for row in self.rows()}


def _date(day: int, rng: random.Random) -> str:
    """A post date in 2026 (day 0 = 1 January), as channel pages print it."""
    from datetime import date, timedelta

    d = date(2026, 1, 1) + timedelta(days=day % 330)
    return f"{d.isoformat()} {rng.randrange(7, 24):02d}:{rng.randrange(60):02d}"


def hash_str(text: str) -> int:
    """A process-independent string hash (Python's hash() is salted per process)."""
    value = 0
    for ch in text:
        value = (value * 131 + ord(ch)) % (2**61 - 1)
    return value
