"""The words generated company names are made of, each with its pinyin.

Regions (with their administrative level), brand characters and their homophones,
industries, enterprise forms, and the people, capitals, statuses and labels of the
generated details. Data only: :mod:`.registry` builds the names from it.
"""

from __future__ import annotations

# (text, pinyin syllables) — each part's characters carry their syllables.
REGIONS: tuple[tuple[str, str, str], ...] = (
    # (name, pinyin, administrative division code)
    ("北京", "bei jing", "110000"),
    ("上海", "shang hai", "310000"),
    ("天津", "tian jin", "120000"),
    ("重庆", "chong qing", "500000"),
    ("广州", "guang zhou", "440100"),
    ("深圳", "shen zhen", "440300"),
    ("杭州", "hang zhou", "330100"),
    ("宁波", "ning bo", "330200"),
    ("南京", "nan jing", "320100"),
    ("苏州", "su zhou", "320500"),
    ("无锡", "wu xi", "320200"),
    ("武汉", "wu han", "420100"),
    ("成都", "cheng du", "510100"),
    ("西安", "xi an", "610100"),
    ("长沙", "chang sha", "430100"),
    ("郑州", "zheng zhou", "410100"),
    ("青岛", "qing dao", "370200"),
    ("济南", "ji nan", "370100"),
    ("厦门", "xia men", "350200"),
    ("福州", "fu zhou", "350100"),
    ("合肥", "he fei", "340100"),
    ("南昌", "nan chang", "360100"),
    ("昆明", "kun ming", "530100"),
    ("贵阳", "gui yang", "520100"),
    ("沈阳", "shen yang", "210100"),
    ("大连", "da lian", "210200"),
    ("哈尔滨", "ha er bin", "230100"),
    ("石家庄", "shi jia zhuang", "130100"),
    ("太原", "tai yuan", "140100"),
    ("南宁", "nan ning", "450100"),
    ("海口", "hai kou", "460100"),
    ("兰州", "lan zhou", "620100"),
)
BRAND_CHARS: tuple[tuple[str, str], ...] = (
    ("华", "hua"), ("信", "xin"), ("泰", "tai"), ("恒", "heng"), ("瑞", "rui"),
    ("安", "an"), ("盛", "sheng"), ("达", "da"), ("鑫", "xin"), ("宏", "hong"),
    ("远", "yuan"), ("隆", "long"), ("联", "lian"), ("创", "chuang"), ("新", "xin"),
    ("博", "bo"), ("嘉", "jia"), ("诚", "cheng"), ("德", "de"), ("金", "jin"),
    ("天", "tian"), ("正", "zheng"), ("源", "yuan"), ("丰", "feng"), ("汇", "hui"),
    ("融", "rong"), ("通", "tong"), ("力", "li"), ("祥", "xiang"), ("凯", "kai"),
    ("益", "yi"), ("铭", "ming"), ("锦", "jin"), ("弘", "hong"), ("永", "yong"),
    ("兴", "xing"), ("明", "ming"), ("辉", "hui"), ("卓", "zhuo"), ("越", "yue"),
    ("腾", "teng"), ("飞", "fei"),
)  # fmt: skip
# Brand character -> a homophone, for weaker "拼音" spellings (never in generated names).
HOMOPHONES: dict[str, str] = {
    "华": "化", "信": "心", "泰": "太", "恒": "衡", "瑞": "锐", "安": "按", "盛": "胜",
    "达": "大", "鑫": "馨", "宏": "洪", "远": "园", "隆": "龙", "联": "连", "创": "窗",
    "新": "欣", "博": "波", "嘉": "佳", "诚": "成", "德": "得", "金": "今", "天": "田",
    "正": "政", "源": "元", "丰": "峰", "汇": "惠", "融": "容", "通": "同", "力": "立",
    "祥": "翔", "凯": "恺", "益": "亿", "铭": "鸣", "锦": "瑾", "弘": "红", "永": "泳",
    "兴": "星", "明": "名", "辉": "晖", "卓": "琢", "越": "悦", "腾": "藤", "飞": "非",
}  # fmt: skip
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("科技", "ke ji"), ("实业", "shi ye"), ("投资", "tou zi"), ("建设", "jian she"),
    ("物流", "wu liu"), ("贸易", "mao yi"), ("医药", "yi yao"), ("能源", "neng yuan"),
    ("电子", "dian zi"), ("食品", "shi pin"), ("化工", "hua gong"), ("机械", "ji xie"),
    ("环保", "huan bao"), ("置业", "zhi ye"), ("传媒", "chuan mei"), ("纺织", "fang zhi"),
    ("汽车", "qi che"), ("软件", "ruan jian"), ("信息技术", "xin xi ji shu"),
    ("新材料", "xin cai liao"), ("生物科技", "sheng wu ke ji"), ("工程", "gong cheng"),
    ("餐饮管理", "can yin guan li"), ("教育科技", "jiao yu ke ji"), ("农业发展", "nong ye fa zhan"),
    ("供应链管理", "gong ying lian guan li"), ("电力设备", "dian li she bei"),
)  # fmt: skip
FORMS: tuple[tuple[str, str], ...] = (
    ("有限公司", "you xian gong si"),
    ("股份有限公司", "gu fen you xian gong si"),
    ("集团有限公司", "ji tuan you xian gong si"),
    ("有限责任公司", "you xian ze ren gong si"),
)
FORM_WEIGHTS = (60, 20, 10, 10)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
CAPITALS = (50, 100, 200, 500, 1000, 5000, 10000)
STATUSES = ("存续", "在业", "存续", "存续", "迁出", "注销")
LABELS = (
    "高新技术企业",
    "专精特新",
    "小微企业",
    "科技型中小企业",
    "一般纳税人",
    "进出口权",
    "上市公司",
    "守合同重信用",
)
# Unified social credit code alphabet (no I, O, Z, S, V) and its check weights.
