"""Writes corpus/c17_ordinary_services.jsonl: ordinary paid services and digital goods in the sellers' register.

Harmful offers are sold in a marketing register — 接单, 按次/按页计费, 包月, 卡密自动发货, 秒到, 无需实名,
加急另算 — and the corpus had few ordinary listings in it, so out-of-fold the ordinary rows that
scored highest were exactly these (PPT代做 接单 按页计费; 卡密秒到 充值成功; 流量卡 无需实名): they set the
operating threshold at 1 % prevalence. Every part below is hand-written for a legitimate service or
digital good; the generator combines them with a fixed seed (no contact on most rows: c16 covers those).

    python -m classifier.corpus_gen.ordinary_services
"""
from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "corpus" / "c17_ordinary_services.jsonl"

# (category, kind, titles, offers): what such a seller says the service or good is.
SERVICES = [
    ("office_service", "ecommerce", ["PPT 美化 代做", "Word 排版 论文格式调整", "Excel 表格 数据整理", "简历 优化 排版"],
     ["按页计费，模板可选", "毕业论文目录页码参考文献一站式调整", "公式、透视表、图表都能做", "提供两次免费修改"]),
    ("design", "ecommerce", ["logo 设计 接单", "海报 设计 当天出图", "头像 手绘 定制", "名片 设计 印刷"],
     ["原创设计，不满意改到满意", "提供源文件，可商用", "先看草图再付尾款", "加急当天出稿，另收加急费"]),
    ("translation", "ecommerce", ["英语 翻译 接单", "日语 翻译 人工", "文档 校对 润色", "字幕 翻译 听译"],
     ["按千字计费，专业领域另议", "人工翻译，拒绝机翻", "证件翻译可盖章", "交稿前通读两遍"]),
    ("game_card", "ecommerce", ["游戏点卡 自动发货", "会员 月卡 卡密", "Steam 充值卡", "视频网站 会员 激活码"],
     ["官方渠道卡密，付款后自动发货", "卡密秒到，按页面提示充值即可", "激活失败全额退款", "仅限国区账号使用"]),
    ("topup", "ecommerce", ["话费 充值 95折", "电费 燃气费 代缴", "加油卡 充值", "校园卡 充值"],
     ["全国三网话费，一般十分钟内到账", "高峰期可能延迟，超过24小时未到账原路退款", "请核对号码后再下单", "充值成功会有运营商短信提醒"]),
    ("travel_sim", "ecommerce", ["日本 流量卡 7天", "欧洲 多国 上网卡", "香港 3天 流量卡", "泰国 旅游 电话卡"],
     ["落地插卡即用，只含流量不含通话", "到期自动失效，无需退卡", "出发前请确认手机无网络锁", "支持热点分享，送卡针"]),
    ("errand", "forum", ["校园 跑腿 代取快递", "同城 跑腿 代买", "排队 代办 挂号", "宠物 上门 喂养"],
     ["按次收费，距离远的加一点", "包月更划算，每天固定时间送到", "急单半小时内上门", "全程拍照反馈"]),
    ("tutoring_service", "ecommerce", ["编程 作业 辅导", "考研 数学 答疑", "雅思 口语 陪练", "钢琴 网课"],
     ["一对一在线，按课时收费", "包月不限次数答疑", "可以先试听半小时", "提供课后练习和录屏"]),
    ("photo", "ecommerce", ["证件照 精修", "老照片 修复", "婚礼 跟拍", "产品 白底图 拍摄"],
     ["当天出图，电子版可直接打印", "按张计费，批量有优惠", "不满意免费重修", "提供原片和精修"]),
    ("repair_service", "ecommerce", ["电脑 远程 装软件", "数据 恢复 U盘", "手机 刷机 降级", "打印机 上门 维修"],
     ["远程操作，按次收费", "先检测再报价，恢复不成功不收费", "正规渠道固件，保留资料", "附近当天上门"]),
    ("web_service", "code", ["小程序 开发 接单", "网站 建设 模板", "爬虫 数据 采集 学习", "服务器 运维 包月"],
     ["需求确认后报价，分阶段付款", "包含域名备案指导", "只采集公开数据，遵守网站规则", "包月代维护，故障响应一小时内"]),
    ("membership", "social", ["健身 私教 包月", "自习室 月卡", "洗车 包月 不限次", "共享 充电宝 会员"],
     ["包月不限次数，节假日通用", "按次计费也可以", "办卡送两次体验", "到期自动停止，不自动续费"]),
]
PRICES = ["按页 15 元", "按次 10 元", "包月 99 元", "每千字 80 元", "9.9 元起", "面值 95 折", "49 元/张", "200 元起"]
EXTRAS = ["", "", "加急另算", "可开发票", "支持平台担保交易", "节假日正常接单", "七天无理由", "售后有保障",
          "接单前先沟通需求", "量大从优"]


def rows(n: int = 360, seed: int = 17) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        category, kind, titles, offers = rng.choice(SERVICES)
        parts = rng.sample(offers, rng.choice([1, 2, 2, 3]))
        if rng.random() < 0.6:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(PRICES))
        extra = rng.choice(EXTRAS)
        if extra:
            parts.append(extra)
        if rng.random() < 0.15:
            parts.append(rng.choice(["有问题联系客服", "拍前请咨询", "详情私聊", "微信 abc_demo"]))
        out.append({"id": f"c17-{i + 1:04d}", "label": "benign", "kind": kind, "title": rng.choice(titles),
                    "description": rng.choice(["，", "。", " ", "\n"]).join(parts),
                    "price": f"{rng.choice([9.9, 15, 29, 49, 99, 199])}" if kind == "ecommerce" else None,
                    "tactics": [], "hard_negative": None, "register": "service_offer", "category": category})
    return out


if __name__ == "__main__":
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows()), encoding="utf-8")
    print(f"wrote {OUT}")
