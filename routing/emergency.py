"""Emergencies that must go to 119 / 110 / 120 at once, and the look-alikes that must not.

A cue counts only in a clause that describes something happening now: follow-ups about a past
event ('上次着火的事情处理了吗'), negations ('没有着火'), hazards and hypotheticals ('有火灾隐患',
'万一着火怎么办'), chronic complaints ('经常有人打架') and pollution smoke are not emergencies.
"""

from __future__ import annotations

import re

# (kind, cue, context that disarms the cue anywhere in the text); the first kind whose cue fires in a
# live clause wins (fire > police > medical).
_POLLUTION = re.compile(r"烟囱|工厂|厂|排放|污染|黑烟|烧垃圾|焚烧|秸秆|抽烟|吸烟|烧烤|油烟")
_CUES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        "fire",
        re.compile(
            r"着火|起火|失火|火灾|烧起来|烧着了|火很大|大火|火苗|爆炸了|"
            r"(煤气|燃气|天然气|液化气)(泄漏|泄露|漏了|漏气|爆炸)|漏(煤|燃|天然)?气了|"
            r"闻到.{0,8}(煤气|燃气|天然气|液化气)|(煤气|燃气|天然气)味"
        ),
        None,
    ),
    ("fire", re.compile(r"浓烟|冒烟"), _POLLUTION),  # smoke from a chimney or a barbecue is pollution
    (
        "police",
        re.compile(
            r"打架|斗殴|打人|被打(?!扰|折|针|卡)|打我(?!.{0,2}(电话|手机))|持刀|拿刀|拿着刀|砍人|捅人|抢劫|抢包|"
            r"杀人|要杀(了)?(我|人|他|她)|闹事|砸东西|砸店|绑架|劫持|家暴|非礼|强奸|入室|撬门|有小偷|"
            r"跳楼(?!价)|轻生|自杀|跟踪我"
        ),
        None,
    ),
    (
        "medical",
        re.compile(
            r"晕倒|昏倒|昏迷|晕过去|不省人事|休克|心脏病(犯|发)|突发心脏病|心梗|中风了|脑溢血|大出血|流了很多血|"
            r"血流不止|喘不上气|喘不过气|呼吸困难|没有呼吸|没呼吸|没气了|抽搐|口吐白沫|溺水|落水(?!管)|触电|中毒|"
            r"喝了农药|安眠药|割腕|摔倒.{0,4}起不来|被车撞|撞倒了|要生了|羊水破了|"
            r"(车祸|撞车|被撞).{0,8}(受伤|流血|伤了|起不来|昏迷)|(头|脸|身)上(全|都)是血|满身是血"
        ),
        None,
    ),
)
# Alone: violence is the likeliest reason. 救命药 is a medicine, 救命钱 money.
_CALL_FOR_HELP = re.compile(r"救命(?!药|钱|稻草|之恩|恩人)|快来人|快报警")

_CLAUSE_SPLIT = re.compile(r"[，,。.！!？?；;：:\s]+")
_NEGATED = re.compile(r"(没|没有|不是|并没有|并未|别|不会|防止|避免|差点|险些|差一点)$")
_NOT_LIVE = re.compile(
    r"隐患|防火|预防|防止|以防|避免|如果|万一|要是|假如|担心|容易|可能会|会不会|演练|演习|宣传|知识|培训|"
    r"经常|总是|老是|天天|每天|每次|动不动|"
    r"事件|现象|行为|事实|惨案|一案|案件|频发|司空见惯|层出不穷"  # a kind of event told about, not one now
)
_PAST = re.compile(
    r"上次|上回|之前|以前|以后|之后|后来|前几天|前些天|前段时间|昨天|前天|去年|上个月|上周|上星期|那次|曾经|当时|年前|"
    r"\d{1,2}月\d{1,2}[日号]|\d{4}年|[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}[日号]"  # a dated story
)
_FOLLOW_UP = re.compile(
    r"处理了吗|处理得怎么样|怎么处理|有结果|进展|赔偿|理赔|保险|报销|医保|费用|怎么办理|证明|鉴定|责任认定|"
    r"感谢|感动|表扬|谢谢"  # praise tells of an emergency already handled
)
_NOW = re.compile(r"现在|正在|刚刚|刚才|马上|赶紧|快来|快点|救命|又")


def emergency_of(text: str) -> str | None:
    """'fire', 'police' or 'medical' when the caller describes an emergency happening now."""
    if not text:
        return None
    whole_is_follow_up = not _NOW.search(text) and bool(_PAST.search(text) or _FOLLOW_UP.search(text))
    clauses = [c for c in _CLAUSE_SPLIT.split(text) if c]
    for kind, cue, disarm in _CUES:
        if disarm is not None and disarm.search(text):
            continue
        for clause in clauses:
            if _live_cue(cue, clause, whole_is_follow_up):
                return kind
    if not whole_is_follow_up and any(_CALL_FOR_HELP.search(c) for c in clauses):
        return "police"
    return None


def _live_cue(cue: re.Pattern[str], clause: str, whole_is_follow_up: bool) -> bool:
    for m in cue.finditer(clause):
        before = clause[max(0, m.start() - 4) : m.start()]
        if _NEGATED.search(before) or any(_NEGATED.search(before[:i]) for i in range(1, len(before))):
            continue
        if _NOT_LIVE.search(clause):
            continue
        if whole_is_follow_up or (_PAST.search(clause) and not _NOW.search(clause)):
            continue
        return True
    return False
