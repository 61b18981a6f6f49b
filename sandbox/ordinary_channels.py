"""Ordinary repositories and channels in volume, for the code host and the social channel site.

Like ``ordinary.py``: hand-written parts composed deterministically from the seed, so the two
newer platforms show the prevalence a real crawl meets (ten ordinary to one harmful) and the
everyday register around the few harmful rows. Nothing here is shared with the classifier's corpus.
"""
from __future__ import annotations

import random

# project kind -> (repository name stems, one-line descriptions, README feature lines, topics)
PROJECTS = {
    "notes": (["notes-app", "memo-board", "jishiben", "daily-notes"],
              ["一个简单的本地笔记应用", "Markdown notes that sync through a folder", "极简备忘录，打开就能写"],
              ["支持 Markdown 和代码高亮", "全部数据保存在本地，不上传", "可以导出 PDF 和 HTML",
               "Dark mode and keyboard shortcuts", "标签和全文搜索"], ["notes", "markdown", "electron"]),
    "blog": (["blog-theme", "hexo-theme-qingshan", "hugo-paper-cn", "static-blog"],
             ["清爽的博客主题，适合写技术文章", "A minimal Hugo theme for personal blogs", "响应式博客模板"],
             ["支持评论、目录和阅读进度条", "SEO friendly, fast on mobile", "中文排版优化，行距舒服",
              "内置友链和归档页"],
             ["blog", "theme", "hugo"]),
    "weather": (["weather-cli", "tianqi-bot", "forecast-widget"],
                ["命令行查天气", "Weather in your terminal", "桌面天气小组件"],
                ["支持按城市名和经纬度查询", "七天预报和空气质量", "Caches results for ten minutes",
                 "可以设置下雨提醒"],
                ["weather", "cli"]),
    "tools": (["dotfiles", "my-scripts", "xiaogongju", "devbox-setup"],
              ["我的开发环境配置", "Personal shell scripts and configs", "日常小工具合集"],
              ["一键安装常用开发工具", "zsh、tmux、vim 配置", "批量重命名照片", "Backs up configs to a git repo"],
              ["dotfiles", "shell"]),
    "game": (["snake-game", "tetris-web", "2048-cn", "sudoku-solver"],
             ["网页版贪吃蛇", "Tetris in 300 lines of JavaScript", "数独求解器，附带出题功能"],
             ["键盘和触屏都能玩", "最高分保存在本地", "Levels get faster every minute", "支持暗色主题"],
             ["game", "javascript"]),
    "data": (["csv-cleaner", "excel-merge", "shuju-kanban", "log-parser"],
             ["合并多个 Excel 表格", "Clean messy CSV files", "小团队用的数据看板"],
             ["自动识别表头", "Handles GBK and UTF-8 files", "图表可以导出为图片", "支持定时刷新"],
             ["data", "python", "excel"]),
    "learning": (["leetcode-notes", "algorithms-cn", "python-100-days-notes", "os-course-labs"],
                 ["刷题笔记和题解", "Algorithm exercises with explanations", "操作系统课程实验"],
                 ["每道题都有思路说明", "按难度和标签分类", "Tests included for every exercise", "附带视频讲解链接"],
                 ["learning", "algorithms"]),
    "home": (["home-assistant-cn", "smart-light", "plant-monitor", "aquarium-ctrl"],
             ["智能家居接入配置", "Soil moisture monitor for house plants", "鱼缸温控和定时喂食"],
             ["ESP32 + 传感器，成本不到五十元", "手机上看实时数据", "MQTT support", "断网也能本地运行"],
             ["iot", "esp32", "home"]),
}
INSTALL = ["## 安装\n下载 Releases 里的压缩包，解压即可使用。",
           "## Install\nClone the repository and run the setup script.",
           "## 使用\n需要 Python 3.10 以上，安装依赖后运行 main.py。", "## Usage\nnpm install && npm start"]
FOOTER = ["欢迎提 Issue 和 PR。", "MIT License.", "如果对你有帮助，点个 Star 吧。", "Contributions welcome.", ""]
OWNERS = ["xiaoming", "coder", "lanhai", "qingshan", "dev", "hacker", "mumu", "ayu", "zhangsan", "lisi", "orange",
          "pixel"]

# channel topic -> (titles, about lines, posts)
CHANNELS = {
    "news": (["今日要闻", "早报速递", "科技新闻"], ["每天早上八点推送新闻摘要。", "科技圈新闻，一天三条。"],
             ["新款手机发布，续航提升两成。", "本地高铁新线路开通。", "某公司发布开源大模型。", "天气转凉，注意添衣。",
              "图书馆周末开放时间调整。", "新能源车销量创新高。"]),
    "shop": (["小店上新", "水果团购", "零食铺子"], ["每周上新，团购价更低。", "产地直发，坏果包赔。"],
             ["赣南脐橙今天开团，十斤装。", "牛肉干补货了。", "本周满一百包邮。", "新到一批坚果礼盒。",
              "收到货有问题拍照联系客服。"]),
    "hobby": (["摄影交流", "钓鱼日记", "手帐分享", "园艺角"], ["分享作品和经验，禁止广告。", "周末一起出去玩。"],
              ["今天拍到的晚霞。", "新手入门镜头推荐。", "周末水库钓了三条鲫鱼。", "多肉换盆要等土干透。",
               "手帐胶带团购接龙。", "分享一下我的阳台花园。"]),
    "study": (["考研打卡", "英语每日一句", "编程入门"], ["每天学一点，坚持就是胜利。", "互相监督学习。"],
              ["今日单词：persistent。", "数学二轮复习计划。", "Python 列表推导式小练习。", "今天背了五十个单词。",
               "推荐一本算法入门书。"]),
    "sport": (["羽毛球约球", "篮球周赛", "骑行俱乐部"], ["周末约球，水平不限。", "每周六下午比赛。"],
              ["本周六场地已订好。", "新球拍手感不错。", "骑行路线：环湖四十公里。", "比赛结果：七十比六十五。"]),
}


def _pick(rng: random.Random, items: list, k: int) -> list:
    return rng.sample(items, min(k, len(items)))


def repository(rng: random.Random, n: int) -> dict:
    """One everyday repository: a name, a description, a README from parts, topics, maybe a release."""
    kind = rng.choice(list(PROJECTS))
    stems, about, features, topics = PROJECTS[kind]
    repo = rng.choice(stems) + rng.choice(["", "", "-lite", "-cn", "2", f"-{n % 97}"])
    readme = "\n".join([f"# {repo}", "", rng.choice(about), "", "## 功能" if rng.random() < 0.6 else "## Features",
                        *[f"- {f}" for f in _pick(rng, features, rng.randrange(2, 5))], "", rng.choice(INSTALL), "",
                        rng.choice(FOOTER)]).strip()
    files = [f"{repo}-{rng.randrange(1, 4)}.{rng.randrange(0, 10)}.zip"] if rng.random() < 0.3 else []
    return {"id": f"g-c{n:05d}", "label": "benign", "kind": "code",
            "owner": f"demo-{rng.choice(OWNERS)}{rng.randrange(10, 99)}", "repo": repo, "title": rng.choice(about),
            "description": readme, "topics": _pick(rng, topics, 2),
            "stars": rng.choice([0, 1, 3, 8, 15, 42, 120, 560]), "files": files, "config": None, "tactics": [],
            "hard_negative": None}


def channel(rng: random.Random, n: int) -> dict:
    """One everyday channel: a title, an about line, and a run of posts."""
    topic = rng.choice(list(CHANNELS))
    titles, abouts, posts = CHANNELS[topic]
    chosen = [rng.choice(posts) for _ in range(rng.randrange(3, 24))]
    about = rng.choice(abouts)
    return {"id": f"g-t{n:05d}", "label": "benign", "kind": "social", "channel": f"demo_{topic}_{n:04d}",
            "title": rng.choice(titles), "description": about, "about": about, "pinned": "", "posts": chosen,
            "tactics": [], "hard_negative": None}


# Small talk between a channel's own posts, so hand-written channels run to several pages.
CHATTER = ["早上好。", "今天休息一天。", "感谢大家支持。", "频道人数破千了。", "节日快乐！", "晚点更新。",
           "收到很多私信，慢慢回。"]


def chatter(rng: random.Random, k: int) -> list[str]:
    return [rng.choice(CHATTER) for _ in range(k)]
