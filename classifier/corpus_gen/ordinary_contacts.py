"""Writes corpus/c16_ordinary_contacts.jsonl: ordinary posts that leave a contact (QQ, 微信, phone, "私聊").

Second-hand goods, rentals, tutoring, car pools, jobs, pets, repairs... On real classifieds boards most
ordinary posts end with a contact, yet the corpus had 26 ordinary rows with a QQ number against 149
harmful ones, so "QQ + number" had become a harmful word ("二手自行车 九成新 有意 QQ 123451234" scored
0.98). Every part below is hand-written in the registers those boards use; the generator only combines
them (item x condition x reason x contact x sign-off), with obviously fake contacts.

    python -m classifier.corpus_gen.ordinary_contacts
"""
from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "corpus" / "c16_ordinary_contacts.jsonl"

# (category, kind, titles, details): details are what a seller/poster says about this kind of thing.
ITEMS = [
    ("bicycle", "ecommerce", ["二手自行车 九成新", "捷安特山地车 转让", "通勤自行车 便宜出", "儿童自行车 16寸"],
     ["车况很好，刹车变速都正常，轮胎去年换的", "骑了一年多，有点小划痕不影响使用", "送车锁和打气筒，只限同城自提"]),
    ("phone", "ecommerce", ["自用 iPhone 12 128G 出", "华为 Mate40 二手 无拆修", "小米备用机 便宜出", "OPPO 手机 九五新"],
     ["电池健康86%，一直贴膜戴壳", "面容指纹都正常，配件盒子都在", "换新机了所以出，可以当面验机"]),
    ("furniture", "ecommerce", ["搬家清仓 沙发茶几", "实木书桌 转让", "九成新 衣柜 自提", "宜家 床架 1.5米"],
     ["搬家带不走，价格好商量", "用了两年，没有磕碰", "需要自己拆装搬运，楼层三楼无电梯"]),
    ("books", "ecommerce", ["考研教材 整套出", "二手小说 十本打包", "初中教辅 全新未写", "日语 N2 备考书"],
     ["有少量笔记，不影响阅读", "几乎全新，只翻过几次", "打包价更优惠，同城可送"]),
    ("rental", "forum", ["主卧 转租 近地铁", "单间出租 拎包入住", "两室一厅 整租", "合租 找室友 女生优先"],
     ["押一付三，水电民用，小区安静", "家电齐全，随时看房", "离地铁站步行五分钟，采光很好"]),
    ("tutoring", "forum", ["家教 初中数学", "高中英语 一对一辅导", "小学作业辅导 周末", "钢琴陪练 上门"],
     ["师范大学在读，有两年家教经验", "可以先试听一次，满意再定", "周末和工作日晚上都有时间"]),
    ("carpool", "forum", ["周五 回老家 拼车", "每天早上 拼车上班", "春节 顺风车 找乘客", "机场 拼车 分摊油费"],
     ["还有两个空位，行李不要太多", "准时出发，车内禁烟", "油费平摊，路线可以商量"]),
    ("jobs", "forum", ["招聘 奶茶店店员", "周末兼职 发传单", "仓库 分拣 临时工", "招 前台 文员 一名"],
     ["包午餐，工资月结，有健康证优先", "按小时结算，当天可结", "要求认真负责，有经验者优先"]),
    ("pets", "social", ["布偶猫 找新家", "金毛幼犬 免费领养", "仓鼠 连笼子送", "猫粮 猫砂 转让"],
     ["已打疫苗驱虫，性格很亲人", "因为搬家没办法继续养了，希望找个好人家", "要求有养宠经验，拒绝贩子"]),
    ("repair", "ecommerce", ["上门 维修 空调 洗衣机", "电脑 维修 装系统", "手机 换屏 换电池", "管道 疏通 水电维修"],
     ["师傅十年经验，收费透明", "先检测后报价，不修不收费", "附近小区可以当天上门"]),
    ("tickets", "social", ["演唱会门票 转让 两张", "话剧票 原价出", "游乐园 年卡 转让", "高铁 抢票 帮忙 找"],
     ["临时有事去不了，原价转", "连座，位置在看台中间", "可以当面交易，或者平台担保"]),
    ("baby", "ecommerce", ["婴儿推车 九成新", "儿童安全座椅 出", "宝宝衣服 一堆 打包", "奶粉 没拆封 转"],
     ["孩子长大了用不上，很干净", "买多了，保质期还很长", "可以带孩子来试坐"]),
    ("camera", "ecommerce", ["佳能 单反 套机", "索尼 微单 出", "拍立得 送相纸", "三脚架 便宜出"],
     ["快门次数不到一万，成色很新", "镜头无霉无雾，送包和卡", "学生党闲置，价格可小刀"]),
    ("fitness", "social", ["健身卡 转让 剩十个月", "瑜伽课 次卡 出", "游泳卡 转让", "私教课 剩余课时 转"],
     ["工作调动用不上了，可以去店里过户", "随时可以约时间去门店办手续", "价格比办新卡便宜很多"]),
    ("decor", "forum", ["装修 找 靠谱 瓦工", "旧房 翻新 报价", "全屋 定制 推荐", "刷墙 局部 修补"],
     ["小区里找师傅，最好能看之前做过的活", "面积六十平，想问问大概多少钱", "材料我自己买，只要人工"]),
    ("computer", "ecommerce", ["游戏本 二手 出", "办公 台式机 整套", "显示器 27寸 转", "机械键盘 鼠标 打包"],
     ["配置能玩主流游戏，散热正常", "公司换电脑淘汰下来的，运行流畅", "屏幕无坏点无漏光"]),
    ("music", "ecommerce", ["吉他 入门 送琴包", "电子琴 61键", "尤克里里 全新", "二手 小提琴 出"],
     ["学了半年没坚持，琴很新", "音色不错，送教材和调音器", "适合初学者练习"]),
    ("food", "social", ["自家 果园 橘子 预订", "老家 土蜂蜜 出", "手工 腊肠 年货", "新鲜 草莓 采摘"],
     ["自己家种的，没打农药", "同城可以送货上门，外地发快递", "量不多，先到先得"]),
    ("router", "ecommerce", ["路由器 千兆 双频 二手", "光猫 换下来的 送人", "随身WiFi 闲置", "网线 交换机 打包出"],
     ["宽带升级换下来的，功能正常", "信号覆盖三室没问题", "包装说明书都在"]),
    ("simcard", "forum", ["手机卡 流量套餐 怎么选", "副卡 办理 问一下", "携号转网 经验", "老人机 选号 咨询"],
     ["家里老人用，只要打电话和接短信", "想换个便宜点的套餐，流量够用就行", "营业厅说要本人带身份证去办"]),
    ("cleaning", "ecommerce", ["家政 保洁 开荒", "钟点工 做饭 打扫", "油烟机 清洗", "搬家 公司 小件搬运"],
     ["按小时收费，自带工具", "周末也可以预约", "价格实在，做完满意再付款"]),
    ("lost_found", "forum", ["捡到 钱包 一个", "寻 走失 橘猫", "丢失 钥匙 一串", "找 校园卡 失主"],
     ["在公交站附近捡到的，里面有证件", "脖子上有红色项圈，很怕生", "有看到的麻烦联系我，必有重谢"]),
]
REASONS = ["", "", "闲置出，", "搬家处理，", "急出，", "诚心出，", "不议价，", "价格可以小刀，"]
CONTACTS = ["有意 QQ {qq}", "有意加Q {qq}", "扣扣 {qq_sp}", "联系 QQ：{qq}", "微信 {wx}", "加微信 {wx} 看实物图",
            "vx：{wx}", "电话 138-0000-{tail}", "联系电话 1380013{x4}", "手机 139-0000-{tail}，微信同号",
            "有意私聊", "感兴趣的私信我", "详聊 {wx}", "电话打不通请发短信，{wx}", "白天上班不方便接电话，请先加微信 {wx}",
            "QQ {qq} 或 微信 {wx}", "需要的留言或者打电话 138-0000-{tail}"]
SIGNOFFS = ["", "", "谢谢", "非诚勿扰", "先到先得", "当面交易", "同城优先", "仅限本地", "谢绝砍价", "可以小刀"]
PRICES = ["50", "80", "120", "200", "350", "600", "1200", "1800"]


def _contact(rng: random.Random) -> str:
    qq = "12345" + "".join(rng.choice("0123456789") for _ in range(4))
    wx = rng.choice(["abc_demo", "demo_seller01", "demo_home", "xyz_demo88", "demo_lily", "demo_2nd"])
    return rng.choice(CONTACTS).format(qq=qq, qq_sp=f"{qq[:5]} {qq[5:]}", wx=wx,
                                       tail=rng.choice(["0000", "0001", "1234"]), x4="xxxx")


def rows(n: int = 420, seed: int = 16) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        category, kind, titles, details = rng.choice(ITEMS)
        title = rng.choice(titles)
        selling = kind == "ecommerce" and category not in ("repair", "cleaning")
        parts = [(rng.choice(REASONS) if selling else "") + rng.choice(details)]
        if rng.random() < 0.5:
            parts.append(rng.choice([d for d in details if d not in parts[0]] or details))
        if selling and rng.random() < 0.5:
            parts.append(f"价格 {rng.choice(PRICES)} 元")
        parts.append(_contact(rng))
        sign = rng.choice(SIGNOFFS)
        if sign:
            parts.append(sign)
        sep = rng.choice(["，", "。", " ", "\n"])
        short = rng.random() < 0.25          # one-liners: the title and a contact, nothing else
        desc = "" if short else sep.join(parts)
        if short:
            title = f"{title} {_contact(rng)}"
        out.append({"id": f"c16-{i + 1:04d}", "label": "benign", "kind": kind, "title": title, "description": desc,
                    "price": rng.choice(PRICES) + ".00" if kind == "ecommerce" else None, "tactics": [],
                    "hard_negative": None, "register": "contact_only" if short else "classifieds",
                    "category": category})
    return out


if __name__ == "__main__":
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows()), encoding="utf-8")
    print(f"wrote {OUT}")
