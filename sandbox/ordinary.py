"""Ordinary listings in volume: what real platforms are mostly made of.

Real category and board pages are dominated by everyday goods, apps and small talk; a harmful
listing is one in hundreds, and every page carries shop or forum boilerplate. This module
composes such rows from hand-written parts (products, selling points, shop notices, app
permissions and changelogs, forum openers and sign-offs), deterministically from the seed, so
the sandbox shows the prevalence and the dilution a real crawl meets. Nothing here is shared
with the classifier's corpus.
"""
from __future__ import annotations

import random

# category -> (market category slug, products, selling points)
GOODS = {
    "phones": ("accessories", ["全网通智能手机 8+256G", "老人手机 大字大声", "二手旗舰机 九五新", "学生备用机 双卡双待",
                               "折叠屏手机 展示机", "儿童电话手表 4G"],
               ["电池健康 91%，无拆无修", "支持 5G 双卡，信号稳定", "屏幕无划痕，配件齐全", "送钢化膜和手机壳",
                "来电大字显示，音量够大，老人用着方便", "支持 NFC 公交卡"]),
    "chargers": ("accessories", ["65W 氮化镓充电器", "磁吸无线充电宝 10000mAh", "Type-C 编织数据线 2 米",
                                 "车载快充头 双口", "三合一充电支架"],
                 ["支持 PD 快充，半小时充到六成", "过充过热保护，夜里充也放心", "线材加粗，弯折两万次测试",
                  "小巧便携，出差随手一塞", "兼容主流安卓和苹果机型"]),
    "cases": ("accessories", ["透明防摔手机壳", "液态硅胶壳", "卡包皮套手机壳", "磨砂肤感保护壳", "平板保护套带笔槽"],
              ["四角气囊防摔", "开孔精准不挡镜头", "不发黄，用半年还是透的", "手感细腻不沾指纹"]),
    "earphones": ("accessories", ["主动降噪蓝牙耳机", "运动挂耳式耳机", "有线入耳式耳机 3.5mm", "头戴式游戏耳机"],
                  ["续航 30 小时", "通话降噪，地铁里也听得清", "佩戴舒适不压耳", "低延迟游戏模式"]),
    "routers": ("telecom", ["千兆双频无线路由器", "Mesh 组网路由 两只装", "随身 WiFi 插电即用", "4G CPE 插卡路由器",
                            "光猫桥接用千兆交换机", "电力猫套装"],
                "WiFi6 穿墙效果不错，卧室也满格|开箱即用，手机扫码就能设置|支持访客网络和家长控制|"
                "租房党宿舍党必备，不用拉宽带|散热好，连续跑一个月不掉线|全千兆网口，NAS 直连".split("|")),
    "landline": ("telecom", ["家用无绳电话 子母机", "办公座机 来电显示", "酒店客房电话机", "老人一键拨号座机"],
                 ["来电显示清晰，免提音质好", "支持黑名单拦截推销电话", "子机待机七天", "按键大，老人不会按错"]),
    "walkie": ("telecom", ["民用对讲机 一对装", "工地手台 大功率", "儿童对讲机玩具"],
               ["通话距离三到五公里", "频道一键对频", "续航两天", "防水防摔"]),
    "cameras": ("telecom", ["家用监控摄像头 360 度", "门铃摄像头 可视对讲", "宠物摄像头 可投喂"],
                ["手机远程查看", "夜视清晰", "移动侦测推送", "本地存储不收月费"]),
    "laptops": ("other", ["轻薄笔记本 14 英寸", "游戏本 RTX 显卡", "二手商务本 i5", "平板电脑 11 英寸",
                          "台式机整机 办公款"],
                ["开机秒进系统", "屏幕 2.5K 高刷", "键盘手感好，码字舒服", "电池能撑一整天课", "自用一年，成色很新"]),
    "office": ("other", ["A4 打印纸 五包装", "激光打印机 家用", "中性笔 60 支装", "文件收纳盒", "人体工学办公椅",
                         "碎纸机 静音款"],
               ["公司批量采购可开发票", "书写顺滑不断墨", "腰托可调，久坐不累", "静音设计不吵同事"]),
    "clothes": ("other", ["纯棉短袖 T 恤", "加绒卫衣 男女同款", "高腰阔腿牛仔裤", "羽绒服 中长款", "防晒衣 冰丝",
                          "运动套装 速干"],
                ["面料柔软不起球", "版型宽松显瘦", "尺码偏大建议拍小一码", "机洗不变形不掉色", "颜色和图片一致"]),
    "shoes": ("other", ["缓震跑步鞋", "帆布鞋 经典款", "儿童学步鞋", "雪地靴 加厚", "凉拖 居家防滑"],
              ["脚感软弹，久走不累", "鞋底耐磨防滑", "宽脚也能穿", "透气不闷脚"]),
    "snacks": ("other", ["手工牛肉干 500g", "每日坚果 30 袋", "原味薯片 大礼包", "老式桃酥", "麻辣小鱼干"],
               ["当天现做，保质期短请尽快吃完", "独立小包装，上班办公室分着吃", "不添加色素", "甜度刚好不腻"]),
    "fruit": ("other", ["赣南脐橙 十斤装", "海南贵妃芒", "烟台红富士苹果", "云南蓝莓 四盒", "新疆哈密瓜"],
              ["产地直发，坏果包赔", "现摘现发，顺丰冷链", "个头均匀，甜度高", "收到有坏的拍照联系客服补发"]),
    "beauty": ("other", ["保湿面霜 50ml", "氨基酸洗面奶", "防晒霜 SPF50", "口红 哑光", "洗发水 去屑控油"],
               ["敏感肌可用", "保质期到后年", "专柜同款，假一赔十", "清爽不油腻"]),
    "baby": ("other", ["婴儿纸尿裤 L 码", "儿童安全座椅", "宝宝辅食机", "婴儿推车 轻便可登机", "儿童绘本套装"],
             ["柔软透气不红屁屁", "3C 认证", "一键收车", "适合 3 到 6 岁"]),
    "pets": ("pets", ["冻干猫粮 2kg", "豆腐猫砂 6L", "猫爬架 大型", "狗狗牵引绳", "宠物自动饮水机", "猫咪逗猫棒套装"],
             ["猫咪爱吃不挑食", "结团快不粘底", "实木结构稳不晃", "静音水泵，夜里听不见", "多猫家庭首选"]),
    "toys": ("hobby", ["拼装坦克模型 1:35", "遥控车 四驱越野", "积木城堡 1200 颗粒", "合金飞机模型 客机",
                       "二战轰炸机拼装模型 1:72", "毛绒公仔"],
             ["细节还原度高，适合收藏", "送电池和说明书", "孩子玩了一下午不撒手", "边角打磨光滑不刮手"]),
    "furniture": ("other", ["实木书桌", "折叠沙发床", "衣柜 推拉门", "床头柜 两个装", "鞋柜 超薄"],
                  ["安装简单，附视频教程", "板材环保 E0 级", "送货上门，偏远地区加运费", "承重好不摇晃"]),
    "kitchen": ("other", ["空气炸锅 5L", "电饭煲 智能预约", "不粘炒锅", "破壁机 静音", "刀具七件套"],
                ["一键操作，老人也会用", "内胆不粘好清洗", "火力均匀", "噪音比上一代小很多"]),
    "books": ("other", ["考研英语真题 2027 版", "儿童科普百科 全八册", "悬疑小说 精装", "Python 编程入门",
                        "二手教材 大学物理"],
              ["正版图书，塑封发货", "笔记少，几乎全新", "适合零基础自学", "孩子睡前每天读一章"]),
    "tickets": ("other", ["演唱会门票 内场", "周末亲子乐园门票", "高铁选座代订", "景区年卡", "话剧票 两张"],
                ["电子票，拍下后发短信码入园", "可开发票", "不退不换请看清日期", "座位连号"]),
    "tutoring": ("other", ["小学数学一对一辅导", "雅思口语陪练", "钢琴陪练 线上", "少儿编程课", "成人零基础吉他课"],
                 ["老师有十年教龄", "先试听一节再决定", "课后有作业反馈", "按课时收费不绑定"]),
    "games": ("other", ["Switch 游戏卡带 二手", "游戏手柄 蓝牙", "PS5 光驱版", "桌游 狼人杀全套", "手游月卡代充"],
              ["卡带无划痕，盒说齐全", "支持体感和震动", "全新未拆封", "周末聚会必备"]),
    "recharge": ("software", ["视频会员月卡", "话费充值 100 元", "网盘会员 年卡", "音乐会员 季卡", "宽带续费代办"],
                 ["自动充值，到账后短信通知", "官方渠道，放心使用", "不支持退款，请确认账号",
                  "充值高峰期可能延迟几分钟"]),
    "office_software": ("software", ["正版办公软件 家庭版", "PDF 编辑器 永久授权", "思维导图软件",
                                     "财务记账软件 单机版", "进销存管理系统"],
                        ["提供安装指导", "支持多台电脑", "终身免费升级", "附带视频教程"]),
    "services": ("other", ["同城搬家 小面包车", "家政保洁 四小时", "空调清洗上门", "手机屏幕维修", "开锁换锁芯"],
                 ["师傅准时上门", "明码标价不乱收费", "维修后保修三个月", "电话预约，当天可上门"]),
    "sim": ("telecom", ["校园流量卡 月租 19 元", "手机靓号 尾号 8888", "大流量上网卡 全国通用", "副卡 亲情号",
                        "携号转网咨询服务"],
            ["官方渠道正规实名", "激活后短信提醒余额", "套餐资费以营业厅为准", "到付款后可在营业厅查询"]),
    "second_hand": ("other", ["闲置自行车", "搬家清仓 电风扇", "毕业出 台灯和书架", "九成新 电动牙刷", "闲置婚纱"],
                    ["同城自提优先", "价格可小刀", "不包邮，偏远不发", "东西都是自用的，介意勿拍"]),
}

SHOP_HEAD = [
    "【店铺公告】本店所有商品均为现货，下午四点前付款当天发出，节假日顺延。",
    "亲爱的顾客您好，欢迎光临小店！收藏店铺可领满减券，关注有惊喜。",
    "温馨提示：因快递网点调整，新疆西藏青海地区暂不包邮，请联系客服补运费。",
    "店铺上新季，全场满 99 减 10，满 199 减 25，优惠券在详情页顶部领取。",
    "本店支持七天无理由退换（定制类、食品类除外），退换货请先联系客服登记。",
    "老顾客回购请备注，发货时会多送一份小礼品，感谢一直以来的支持。",
]
SHOP_TAIL = [
    "【售后说明】收到商品后请当面验货，如有破损请拍照联系客服，我们会第一时间处理。",
    "【关于发货】默认中通/韵达，需要顺丰请补差价。发货后物流信息会同步更新，请耐心等待。",
    "【关于评价】满意请给五星好评，有任何问题先联系我们，一定给您满意的解决方案。",
    "【常见问题】问：可以开发票吗？答：可以，下单时备注抬头和税号。问：多久到？答：江浙沪一般次日达。",
    "客服在线时间：每天 9:00-22:00。留言后会尽快回复，晚上留言第二天早上回复哦。",
    "图片为实物拍摄，因显示器不同可能有轻微色差，以收到的实物为准。",
    "下单即代表您已阅读并同意以上说明，感谢理解与支持，祝您生活愉快！",
]

APP_KINDS = {
    "tools": ["手电筒", "文件管理", "扫码助手", "手机清理", "计算器", "单位换算", "悬浮时钟", "录屏大师"],
    "communication": ["家人通讯录", "短信备份", "来电铃声", "群聊助手", "通话录音整理", "骚扰拦截助手"],
    "business": ["考勤打卡", "云笔记", "扫描全能", "报销助手", "会议纪要", "排班表"],
    "life": ["天气预报", "记账本", "菜谱大全", "公交到站", "健身打卡", "宝宝成长记录", "快递查询"],
}
APP_FEATURES = [
    "界面简洁，没有广告弹窗", "支持深色模式", "数据本地保存，也可以手动备份到云端", "支持桌面小组件",
    "一键导出为表格", "多设备同步", "适配平板和折叠屏", "支持语音输入", "提醒功能可以自定义时间",
    "首次使用有新手引导", "支持家庭成员共享", "所有功能永久免费",
]
APP_PERMISSIONS = [
    "存储权限：用于保存导出的文件", "相机权限：仅在扫码时使用", "通知权限：用于推送提醒",
    "位置权限：用于获取当地天气，可拒绝", "通讯录权限：仅在您选择联系人时读取，不会上传",
    "电话权限：用于识别来电并显示标记", "短信权限：仅用于读取验证码自动填写，可在设置中关闭",
    "麦克风权限：用于语音输入",
]
APP_CHANGES = [
    "修复部分机型闪退的问题", "优化启动速度", "新增夜间模式", "调整设置页布局", "修复提醒偶尔不响的问题",
    "适配最新系统版本", "减小安装包体积", "新增导出 PDF 功能", "修复已知问题，提升稳定性",
]

FORUM_TOPICS = {
    2: [("新买的{x}用了一周，说说感受", ["手机", "平板", "路由器", "蓝牙耳机", "智能手表", "笔记本"]),
        ("求推荐两千以内的{x}", ["手机", "投影仪", "显示器", "相机", "路由器"]),
        ("{x}信号差怎么办？", ["家里 WiFi", "地下室手机", "老小区宽带", "随身 WiFi"])],
    5: [("分享几个好用的{x}", ["效率工具", "记账软件", "笔记软件", "输入法", "浏览器插件"]),
        ("{x}总是闪退，有人遇到吗", ["修图软件", "某视频 App", "网课平台", "导航软件"])],
    7: [("出闲置{x}，价格好商量", ["婴儿车", "自行车", "显示器", "电吉他", "书桌", "跑步机"]),
        ("收一台二手{x}，预算一千", ["笔记本", "单反", "平板", "游戏机"])],
    9: [("{x}，大家帮我看看", ["装修报价", "孩子发烧要不要去医院", "租房合同", "车险续保", "考研择校"]),
        ("请问{x}怎么弄？", ["社保转移", "护照加急", "公积金提取", "驾照换证", "宽带移机"])],
    12: [("{x}", ["今天地铁又延误了", "周末去哪儿玩", "本地新开了家商场", "最近天气忽冷忽热", "小区门口在修路"])],
}
FORUM_BODY = [
    "先说背景：{x}这事我纠结了快一个月，之前在群里问过一圈，说法都不一样。",
    "上周末终于下定决心，跑了两家店对比，最后还是在网上下单了。",
    "用下来的感觉是整体还行，有几个小毛病：一是说明书写得太简单，二是客服回复慢。",
    "价格方面比去年便宜了不少，赶上活动还送了赠品。",
    "家里老人也能上手，这点我挺满意的。",
    "有懂行的朋友可以帮忙看看还有什么要注意的吗？先谢过了。",
    "顺便吐槽一下，快递在路上绕了三天，包装都压扁了。",
    "最后放几张图，手机拍的凑合看。",
    "补充一下：后来又打了售后电话，对方态度还不错，答应换新。",
    "总的来说推荐，但别指望太高。",
]
FORUM_HEAD = ["本帖最后由 {u} 于 2026-{m:02d}-{d:02d} 编辑", "楼主第一次发帖，排版不好见谅。", ""]
FORUM_SIGN = ["—— 生活不止眼前的苟且", "签名：潜水多年，偶尔冒泡", "（手机发帖，有错字请忽略）", ""]


def _pick(rng: random.Random, items: list[str], k: int) -> list[str]:
    return rng.sample(items, min(k, len(items)))


def shop_page(rng: random.Random, description: str) -> str:
    """A listing's description as a shop page shows it: notices before, after-sales after."""
    head = _pick(rng, SHOP_HEAD, rng.randrange(1, 3))
    tail = _pick(rng, SHOP_TAIL, rng.randrange(1, 4))
    return "\n".join([*head, description, *tail])


def app_page(rng: random.Random, description: str, version: str) -> str:
    """An app's description with its permission notes and changelog, as stores print them."""
    perms = _pick(rng, APP_PERMISSIONS, rng.randrange(2, 5))
    changes = _pick(rng, APP_CHANGES, rng.randrange(1, 4))
    return (f"{description}\n\n【权限说明】\n" + "\n".join(perms)
            + f"\n\n【更新日志】v{version}\n" + "\n".join(f"- {c}" for c in changes))


def forum_post(rng: random.Random, description: str, user: str) -> str:
    """A first post with the board's edit line and the author's signature."""
    head = rng.choice(FORUM_HEAD).format(u=user, m=rng.randrange(1, 13), d=rng.randrange(1, 29))
    sign = rng.choice(FORUM_SIGN)
    return "\n".join(part for part in (head, description, sign) if part)


def _goods(rng: random.Random, n: int) -> dict:
    category = rng.choice(list(GOODS))
    slug, products, points = GOODS[category]
    product = rng.choice(products)
    text = "，".join(_pick(rng, points, rng.randrange(2, 5))) + "。"
    if rng.random() < 0.4:
        text += f"\n规格：{product.split()[-1]}；颜色：{rng.choice(['黑色', '白色', '灰色', '蓝色', '随机'])}；" \
                f"产地：{rng.choice(['广东', '浙江', '江苏', '福建', '山东'])}。"
    price = rng.choice([9.9, 15.8, 29.9, 39, 59, 89, 129, 199, 299, 459, 899, 1299, 2599])
    return {"id": f"g-m{n:05d}", "label": "benign", "kind": "ecommerce", "title": product, "description": text,
            "price": f"{price:.2f}", "tactics": [], "hard_negative": None, "market_category": slug}


def _app(rng: random.Random, n: int) -> dict:
    slug = rng.choice(list(APP_KINDS))
    name = rng.choice(APP_KINDS[slug]) + rng.choice(["", " Pro", " 极简版", " 助手", " 管家", "宝"])
    text = f"{name.split()[0]}，" + "；".join(_pick(rng, APP_FEATURES, rng.randrange(2, 5))) + "。"
    return {"id": f"g-a{n:05d}", "label": "benign", "kind": "appstore", "title": name, "description": text,
            "price": None, "tactics": [], "hard_negative": None, "app_category": slug}


def _thread(rng: random.Random, n: int) -> dict:
    board = rng.choice(list(FORUM_TOPICS))
    pattern, fillers = rng.choice(FORUM_TOPICS[board])
    x = rng.choice(fillers)
    body = [s.format(x=x) for s in _pick(rng, FORUM_BODY, rng.randrange(2, 6))]
    return {"id": f"g-f{n:05d}", "label": "benign", "kind": "forum", "title": pattern.format(x=x),
            "description": "".join(body), "price": None, "tactics": [], "hard_negative": None, "board": board}


def generate(rng: random.Random, count: int) -> list[dict]:
    """``count`` ordinary rows: six in ten marketplace goods, two apps, two forum threads."""
    makers = [_goods] * 6 + [_app] * 2 + [_thread] * 2
    return [rng.choice(makers)(rng, n) for n in range(1, count + 1)]
