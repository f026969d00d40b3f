"""Where the problem is (address spans) and a short read-back summary of what was said."""

from __future__ import annotations

import re

# Characters that never belong to a place name: function words, pronouns, verbs of speech,
# punctuation. A span cannot start or run through them, which fixes its left edge.
_NOT_NAME = (
    "的在我你他她它们是有了着和与跟到从住这那哪个就都也还又很太说要想请问吗呢吧啊呀喂嗯哦呃对把被给让"
    "，。！？、,.!?；;：:\"'“”‘’（）()\\s"
)
_NAME = rf"[^{_NOT_NAME}]"
# Bounded runs: an unbounded \d+ made a long digit string (a written request) quadratic, 167 s for 100k.
_NUM = r"(?:\d{1,8}|[一二三四五六七八九十百零两]{1,8})"

# Generic suffixes need a name before them ('金盘路', not '路'); numbered parts attach to a span.
_SUFFIXES = (
    "自治区|自治州|特别行政区|开发区|高新区|新区|工业园|产业园|园区|街道办|街道|社区|小区|花园|家园|公寓|大厦|"
    "广场|公园|大道|大街|胡同|学校|小学|中学|大学|学院|幼儿园|医院|卫生院|市场|商场|超市|火车站|汽车站|高铁站|"
    "地铁站|公交站|村委会|居委会"
)
_SINGLE = "省|市|区|县|旗|镇|乡|村|屯|路|街|巷|弄|苑|城|桥"
# A one-character suffix needs a two-character name: '金盘路', '龙华区', but not '景区', '城市', '绕路'.
_CODE = r"[A-Za-z]\d{0,2}(?:省|市|区|县)"  # anonymised codes of the evaluation data: 'A7县', 'L市'
_NAMED = rf"(?:{_CODE}|{_NAME}{{2,8}}?(?:{_SINGLE})|{_NAME}{{1,8}}?(?:{_SUFFIXES}))"
_NUMBERED = rf"{_NUM}(?:号楼|号院|号|栋|幢|座|单元|室|楼|层|组|队|巷|弄)"
_NEXT = rf"{_NAME}{{0,8}}?(?:{_SUFFIXES}|{_SINGLE})"  # after a named part, a bare '公交站' also attaches
# At most 12 further parts (省市区街道路号栋单元室 is 9): a run of address words is not one 100k-char place.
_SPAN_RE = re.compile(rf"(?:{_NAMED}|{_NUMBERED})(?:{_NEXT}|{_NUMBERED}|附近){{0,12}}")

# Leading words the name class lets through ('反映金盘路' -> '金盘路').
_LEADING = re.compile(
    r"^(?:反映|投诉|举报|咨询|一下|去|来|回|进|出|位于|地址|地点|就是|然后|现在|今天|昨天|晚上|早上|一直|附近|门口|旁边|对面|楼下|楼上|"
    r"里面|外面|家里|老家|回家|本地|本市|咱们|大家|一个|一些|这里|那里|这边|那边|上面|下面|所以|因为|但是|可是)+"
)
# Words ending like an address ('绕路', '逛街', '夜市'): a span ending with one is not a place.
_COMMON_TAIL = re.compile(
    r"(?:绕|走|修|让|带|思|道|马|公|铁|线|电|出|退|上|过|迷|拦|开|半|一|网|找|问|赶|抄|近|远|大)路$|"
    r"(?:上|逛|满|沿|临|当|过|一)街$|(?:城|超|上|开|闹|夜|股|菜)市$|(?:农|乡|全|本|邻|同|外|进)村$"
)
# Spans that look like addresses but are common words.
_NOT_PLACES = frozenset(
    "城市 农村 乡村 城乡 乡镇 家乡 老乡 下乡 县城 市区 城区 郊区 小区 社区 街道 上街 逛街 大街 马路 公路 道路 "
    "学校 医院 超市 市场 商场 公园 广场 全市 全省 全县 全区 本市 本县 本区 各区 各县 市里 省里 县里 区里 "
    "这个小区 那个小区 我们小区 城管 市民 县长 市长 区长 镇长 乡长 村长".split()
)


def extract_place(text: str) -> str | None:
    """The most specific address-like span ('龙华区金盘路18号', '幸福小区3栋', 'A7县'), or None."""
    best: str | None = None
    for m in _SPAN_RE.finditer(text):
        span = _LEADING.sub("", m.group(0)).removesuffix("附近")
        if len(span) < 2 or span in _NOT_PLACES or _COMMON_TAIL.search(span) or not _has_named_part(span):
            continue
        if best is None or len(span) > len(best):
            best = span
    return best


def _has_named_part(span: str) -> bool:
    # '3栋' alone is not a place; '3栋2单元' neither, without a named part before it.
    return bool(re.search(_NAMED, span))


# -- summary -------------------------------------------------------------------------------------

_FILLERS = re.compile(
    r"^(?:喂+|你好|您好|哎|唉|嗯+|啊+|呃+|哦+|那个|这个|就是(?:说)?|然后|是这样的?|这样的|我跟你说|我跟您说|"
    r"我想(?:跟你们|向你们|给你们)?(?:反映|反应|投诉|说|咨询|问)(?:一下|个|一个)?(?:问题|事情|情况|事)?|"
    r"我要(?:反映|反应|投诉|举报)(?:一下|个|一个)?(?:问题|事情|情况|事)?|"
    r"我(?:打电话|打这个电话)(?:是)?(?:想|要)?(?:反映|说|问)(?:一下)?|麻烦(?:你|您)(?:一下)?|请问(?:一下)?|"
    r"这边|那边|就|嘛|呢|吧|了)"
)
_CLAUSES = re.compile(r"[^，。！？；,.!?;\s]+")
_POLITE_END = re.compile(r"^(?:谢谢(?:你|您|你们)?|麻烦(?:你|您|你们)?了?|好的|好吧|就这样|就这些|就这个事)$")


def summary_of(text: str, max_chars: int = 40) -> str:
    """A short read-back of the request: fillers and greetings dropped, cut at a clause boundary."""
    clauses = []
    for raw in _CLAUSES.findall(text):
        clause = raw
        while True:
            stripped = _FILLERS.sub("", clause)
            if stripped == clause:
                break
            clause = stripped
        if clause and not _POLITE_END.match(clause):
            clauses.append(clause)
    if not clauses:
        return text.strip()[:max_chars]
    out = clauses[0][:max_chars]
    for clause in clauses[1:]:
        if len(out) + 1 + len(clause) > max_chars:
            break
        out += "，" + clause
    return out
