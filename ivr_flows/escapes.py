"""The ways out of the bot that work at every prompt: a person (人工 / 0) or an emergency line.

The recogniser (Whisper, CER ≈ 20 %) mostly errs by homophones: 人工 comes back as 人功 or 仁工, 对 as
队 or 兑, 不对 as 不队. Every check therefore looks at the characters as heard first (the old rules),
then at their toneless pinyin, which also reads traditional characters (對, 轉). Pinyin is ambiguous,
so each sound rule below is limited to where bench/escapes.py showed it makes no ordinary request
(Teddy Cup messages, clean and with 20 % homophones) look like an escape or an answer:

* operator words: in a short utterance any of them; in a longer one only 转人工 / 人工 / 接线员 runs
  that end a clause or go on as a request for a person does (人工服务), since ren gong runs are mostly
  任工作, 人公示, (责)任公司; zhen ren is 镇人(民政府) and ke fu 克服.
* emergencies: keywords heard by sound are respelled and the text goes through routing's emergency_of
  again, so its negation / past / hazard rules still apply; keywords whose sound is an everyday word
  (救命 就明, 失火 市火车) only in a short utterance, 打架 / 打人 (大家, 大人) not by sound at all.
* yes / no: the answer must be the utterance (or its first clause) made of answer words, a no word in
  a short utterance (地点不对), or a word leading it (不对，…). shi (是) and dui (对) are in almost
  every sentence, so by sound only short utterances count; no is decided before yes (不 + dui / shi).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PINYIN_DICT

from routing.types import emergency_of

OPERATOR_DIGIT = "0"
OPERATOR_WORDS = ("人工", "转人工", "接线员", "真人", "客服")

# emergency kind (routing.types.emergency_of) → (dialplan line, prompt key)
EMERGENCY_LINES = {
    "police": ("110", "emergency_police"),
    "fire": ("119", "emergency_fire"),
    "medical": ("120", "emergency_medical"),
}


@dataclass(frozen=True)
class Escape:
    target: str  # 'operator' or 'emergency'
    reason: str  # why, for the event log and the operator
    line: str = ""  # 110 / 119 / 120 for emergencies


YES_WORDS = ("对", "是", "没错", "正确", "可以", "嗯", "好的", "行")
NO_WORDS = ("不对", "不是", "错了", "不正确", "不行", "没有", "不")
CONFIRM_GRAMMAR = ["对", "对的", "是", "是的", "没错", "正确", "不对", "不是", "错了", "人工", "转人工"]

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
Sounds = tuple[str, ...]  # toneless pinyin, one per character ('' for anything but a Han character)


def _sounds(text: str) -> Sounds:
    """The toneless pinyin of each character of text, read on its own.

    On its own, not in context: the recogniser writes a character that sounds like what was said, and
    that is a character whose usual reading is that sound (人工 → 人功 / 仁工, 着火 → 找火 / 照火).
    The usual reading is the first of pypinyin's dictionary, which is what lazy_pinyin(ch, Style.NORMAL)
    returns for every character of U+3400..U+9FFF (a test holds that), read directly because
    lazy_pinyin costs ~70 µs a call: 20 ms for a minute's request, against ~1 ms this way."""
    seen: dict[str, str] = {}
    for ch in set(text):
        found = PINYIN_DICT.get(ord(ch))  # None for anything but a Han character
        seen[ch] = _toneless(found.split(",", 1)[0]) if found else ""
    return tuple(seen[ch] for ch in text)


def _toneless(syllable: str) -> str:
    # Style.NORMAL: tone marks dropped, ü written v (lv for 绿).
    decomposed = unicodedata.normalize("NFD", syllable).replace("u\u0308", "v")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _word(word: str) -> Sounds:
    # In context: 着火 is zhao huo, the sound a caller makes, though 着 alone reads zhe. errors="ignore"
    # would drop a character without a reading; the word lists here have none (tests check the lengths).
    return tuple(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


def _runs(sounds: Sounds, syllables: Sounds) -> list[int]:
    """Start indexes of the character runs of sounds that sound like syllables."""
    n = len(syllables)
    return [i for i in range(len(sounds) - n + 1) if sounds[i : i + n] == syllables]


# -- escapes -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    """A keyword looked for by sound, and what shows that a run sounding like it is another word."""

    word: str
    sounds: Sounds
    not_written: frozenset[str] = frozenset()  # real words that sound the same (克服 for 客服)
    not_before: frozenset[str] = frozenset()  # next syllables that make the run part of another word
    not_after: frozenset[str] = frozenset()  # previous syllables that do
    only_before: frozenset[str] | None = None  # if set, the next syllable must be one of these ('' = none)


def _key(word: str, not_written: str = "", not_before: str = "", not_after: str = "",
         only_before: str | None = None) -> _Key:
    return _Key(word, _word(word), frozenset(not_written.split()), frozenset(not_before.split()),
                frozenset(not_after.split()), None if only_before is None else frozenset(only_before.split()) | {""})


def _found(text: str, sounds: Sounds, key: _Key) -> list[int]:
    """Start indexes of the runs of text that are key, by character or by sound, position by position:
    着伙了 is 着火了 (着 alone reads zhe, not zhao), and 人功 is 人工."""
    n = len(key.word)
    out = []
    for i in range(len(text) - n + 1):
        if text[i] != key.word[0] and sounds[i] != key.sounds[0]:  # cheap first test: most positions
            continue
        if not all(text[i + k] == key.word[k] or sounds[i + k] == key.sounds[k] for k in range(n)):
            continue
        if text[i : i + n] in key.not_written:
            continue
        after = sounds[i + n] if i + n < len(text) else ""
        if after in key.not_before or (i > 0 and sounds[i - 1] in key.not_after):
            continue
        if key.only_before is not None and after not in key.only_before:
            continue
        out.append(i)
    return out


# Operator words by sound, measured on the Teddy Cup messages and their fragments (bench/escapes.py).
# In a longer utterance only 转人工 / 人工 / 接线员 runs that end a clause or go on as a request for a
# person does (人工服务, 人工客服, 人工吧): ren gong runs go on as 任工作, 人公示, (责)任公司, 人公墓.
# In a short one those anywhere, and 真人 / 客服 when asked for ('我要阵人', '转刻服') or alone: zhen
# ren is mostly (大圩)镇人 and ke fu 克服; 克服 as written also has to end the utterance (克服困难).
_OPERATOR_KEYS = (
    _key("转人工"),
    # (责)任公(司), 任工作, 任工程, 人公示, 人工资, 任公社, 人公墓, 人工厂, 人公安, 人公开, 人公共, 人公交
    _key("人工", not_written="任公", not_before="si zuo cheng shi zi she mu chang an kai gong jiao"),
    _key("接线员"),
    _key("真人", not_before="min"),
    _key("客服"),
)
_OPERATOR_LONG = frozenset({"转人工", "人工", "接线员"})
_AFTER_OPERATOR = frozenset({"", "fu", "ke", "tai", "jie", "a", "ya", "ba", "ne", "ma", "la", "o", "de", "hao", "xie"})
_ASKING = re.compile(r"(转|找|要|接|联系)\w{0,2}$")
_WORDS = re.compile(r"\W+|喂|你好|您好|我要|我想|请|帮我|给我|一下|吧|啊|呀|呢|的|嗯")  # what 克服 alone may come with

# Emergency keywords respelled from their sound before routing's emergency_of looks again, so its
# negation / past / hazard rules still apply. Each measured on the Teddy Cup messages
# (bench/escapes.py). Anywhere in an utterance: runs that are rare outside an emergency.
_EMERGENCY_ANYWHERE = (
    _key("着火", not_before="zhe"),  # 找或者
    *(_key(w) for w in ("燃气", "天然气", "泄漏", "煤气泄漏", "浓烟", "昏迷", "晕过去", "呼吸困难",
                        "心脏病", "跳楼", "快来人", "快报警")),
    _key("晕倒", not_written="运到", not_after="chun"),  # 春运到了
    _key("抢劫", not_before="shou", not_after="mian"),  # 勉强接受
)
# Only in a short utterance, and not where the run is written as, or goes on as, the everyday word
# it sounds like: 救命 就明(确), 失火 是或(者) / 市火(车), 火灾 生活在, 起火 期货, 打架 大家, 打人 大人,
# 溺水 泥水, 触电 出点, 中毒 重度, 杀人 沙人, 昏倒 (结)婚到, 休克 (选)修课, 自杀 自沙(溪); 煤气 would be
# 没气, a cue of its own. Not at all by sound: 打架 and 打人, which are 大家 / 打假 and 大人 / 达人 even
# in short utterances (measured on message fragments).
_EMERGENCY_SHORT = (
    _key("救命", only_before="a ya wa la jiu you kuai"),  # 救命啊, 救命救命, 救命有人…, 救命快…
    _key("失火", not_before="zhe che dong"),
    _key("起火", not_written="期货", not_before="zhe"),
    _key("火灾", not_after="sheng", not_written="活在 或在 货在"),
    _key("杀人", only_before="le a ya la ne ba"),
    _key("休克", not_written="修课"),
    _key("溺水", not_written="泥水"),
    _key("触电", not_written="出点 出店 处点"),
    _key("中毒", not_written="重度 种毒"),
    _key("昏倒", not_after="jie"),
    _key("自杀", only_before="le a ya la ne ba"),  # 要自杀了, not 自沙(溪)
    _key("煤气", not_written="没气"),
)
_SHORT_CALL = 10  # Han characters once fillers are removed: '楼下失火了快来人', '有人晕倒了快叫救护车'
_FILLERS = re.compile(r"喂|你好|您好|我要|我想|请|帮我|给我|找|一下|吧|啊|呀|呢|的|嗯")


def _respell(text: str, sounds: Sounds, keys: Sequence[_Key]) -> str:
    """text with every run that sounds like one of keys written as that key (same length)."""
    chars = list(text)
    for key in keys:
        for i in _found(text, sounds, key):
            chars[i : i + len(key.word)] = key.word
    return "".join(chars)


def escape_of(text: str, digit: str = "") -> Escape | None:
    if digit == OPERATOR_DIGIT:
        return Escape("operator", "caller_pressed_0")
    if not text:
        return None
    sounds = _sounds(text)
    short = sum(1 for c in _FILLERS.sub("", text) if _HAN.match(c)) <= _SHORT_CALL
    # An emergency wins over a request for a person, also when only its sound gives it away.
    heard = emergency_of(text)
    if heard is None or heard == "police":
        # police may be a bare 快来人 / 救命 that routing ranks below a fire or a medical cue, which
        # may be in the text only by sound (楼下失伙了快来人): then the respelled text decides.
        respelled = emergency_of(_respell(text, sounds, _EMERGENCY_ANYWHERE + (_EMERGENCY_SHORT if short else ())))
        heard = respelled or heard
    if heard in EMERGENCY_LINES:
        return Escape("emergency", f"emergency_{heard}", EMERGENCY_LINES[heard][0])
    # Written or by sound, a longer utterance needs the word to end a clause or ask for a person:
    # 人工耳蜗, 本人工作 and a merchant's 客服说 are not requests for our operator.
    if (short and any(w in text for w in OPERATOR_WORDS)) or _asks_operator_by_sound(text, sounds, short):
        return Escape("operator", "caller_asked_operator")
    return None


def _asks_operator_by_sound(text: str, sounds: Sounds, short: bool) -> bool:
    for key in _OPERATOR_KEYS:
        for i in _found(text, sounds, key):
            end = i + len(key.word)
            if key.word in _OPERATOR_LONG:
                if short or (sounds[end] if end < len(text) else "") in _AFTER_OPERATOR:
                    return True
            elif short and _asked_for(text, i, end):
                return True
    return False


def _asked_for(text: str, start: int, end: int) -> bool:
    """Whether the 真人 / 客服 run at text[start:end] is alone or asked for (转…, 找…, 我要…), and, written
    克服, ends the utterance (转克服, not 克服困难)."""
    asked = bool(_ASKING.search(text[:start])) or not _WORDS.sub("", text[:start])
    return asked and (text[start:end] != "克服" or not _WORDS.sub("", text[end:]))


# -- yes / no ----------------------------------------------------------------------------------------
_SHORT_ANSWER = 6  # characters of an answer once punctuation and fillers are gone
_CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;：:、…]+")
_DROPPED = re.compile(r"[\s\"'“”‘’()（）\[\]【】《》<>~～\-—]+")  # neither words nor clause breaks
_FILLER_CHARS = frozenset("嗯啊呀吧的呢哦喔噢额呃哈啦诶")
# The same fillers by sound, for the homophones written for them (得 for 的, 阿 for 啊, 恩 for 嗯).
_FILLER_SOUNDS = frozenset({"n", "ng", "en", "a", "ya", "ba", "de", "ne", "o", "e", "ha", "la", "ei"})
_NO, _YES, _NEUTRAL = "no", "yes", "neutral"
_MORE_YES = ("就是", "没问题", "没有问题")  # beyond YES_WORDS, which callers also read; 没有问题 is not 没有
_NEUTRAL_WORDS = ("这样", "这个")  # may come with an answer ('是这样', '不是这个') but are none


@dataclass(frozen=True)
class _Mode:
    """One way of comparing an answer: by characters, or by their sound."""

    units: Callable[[str], Sounds]  # text → one unit per character
    fillers: frozenset[str]
    words: tuple[tuple[Sounds, str], ...]  # answer words and their labels, fillers removed
    decisive: tuple[tuple[Sounds, str], ...]
    leading: tuple[tuple[Sounds, str], ...]
    max_parse: int  # longest utterance or clause that may be read as nothing but answer words


def _mode(units: Callable[[str], Sounds], fillers: frozenset[str], max_parse: int) -> _Mode:
    def spelt(words: Sequence[str], label: str) -> list[tuple[Sounds, str]]:
        out = [(tuple(u for u in units(w) if u not in fillers), label) for w in words]
        return [(u, label) for u, label in dict.fromkeys(out) if u]

    return _Mode(
        units=units,
        fillers=fillers,
        words=(*spelt(NO_WORDS, _NO), *spelt((*YES_WORDS, *_MORE_YES), _YES), *spelt(_NEUTRAL_WORDS, _NEUTRAL)),
        # Decide wherever they are in a short utterance (地点不对, 名字错了). Not 没有 (小区没有路灯),
        # 可以 (可以吗) or 就是 (就是说): requests and questions.
        decisive=(*spelt(("不对", "不是", "错了", "不正确", "不行"), _NO), *spelt(("没错", "正确", "没问题"), _YES)),
        # Lead a longer answer ('对的，就是这个', '不对我说的是东门'); fillers kept (是的 is not 是);
        # longest first (没有问题 is not 没有).
        leading=tuple(sorted(((units(w), label) for w, label in (
            *((w, _NO) for w in ("不对", "不是", "错了", "不正确", "不行", "没有")),
            *((w, _YES) for w in ("对的", "是的", "没错", "好的", "正确", "没问题", "没有问题")))),
            key=lambda wl: -len(wl[0]))),
        max_parse=max_parse,
    )


# Characters first (the old rules, and all the recogniser needs when it gets the answer right), then
# sound, only in short utterances: shi and dui are in almost every sentence.
_MODES = (_mode(tuple, _FILLER_CHARS, max_parse=10_000), _mode(_sounds, _FILLER_SOUNDS, max_parse=_SHORT_ANSWER))
_EXACT, _SOUND = _MODES


def yes_no(text: str, digit: str = "") -> bool | None:
    """The caller's answer to 对吗: True, False, or None when it cannot be told."""
    if digit == "1":
        return True
    if digit == "2":
        return False
    clauses = [c for c in (_DROPPED.sub("", c) for c in _CLAUSE_BREAK.split(text)) if c]
    if not clauses:
        return None
    verdict = _answer(clauses)
    return None if verdict is None else verdict == _YES


def _answer(clauses: list[str]) -> str | None:
    # (units, units without fillers) of the whole utterance and of its first clause, per mode
    said = {m: [(u, tuple(x for x in u if x not in m.fillers)) for u in (m.units("".join(clauses)),
                                                                      m.units(clauses[0]))] for m in _MODES}
    if not said[_SOUND][0][1]:  # nothing but fillers: 嗯 (or 恩, as heard) on its own is a yes
        return _YES if {"n", "en"} & set(said[_SOUND][0][0]) else None
    # The whole utterance, then its first clause, as nothing but answer words.
    for part in (0, 1):
        for m in _MODES:
            spoken = said[m][part][1]
            label = _parse(spoken, m.words) if 0 < len(spoken) <= m.max_parse else None
            if label is not None:
                return label
    # A decisive word in a short utterance: no before yes (不对 holds 对), each by characters then sound.
    for wanted in (_NO, _YES):
        for m in _MODES:
            spoken = said[m][0][1]
            if len(spoken) <= _SHORT_ANSWER and any(
                    _runs(spoken, w) for w, label in m.decisive if label == wanted):
                return wanted
    # An answer leading a longer utterance (after any fillers).
    for m in _MODES:
        units = said[m][0][0]
        start = next((i for i, u in enumerate(units) if u not in m.fillers), len(units))
        for w, label in m.leading:
            if units[start : start + len(w)] == w:
                return label
    return None


def _parse(units: Sounds, words: Sequence[tuple[Sounds, str]]) -> str | None:
    """no if units can be read as nothing but answer words and one reading holds a no word, else yes if
    one holds a yes word; None when they are something else (or neutral words only)."""
    # ways[i]: the label sets of the readings of units[i:] (None: it cannot be read so)
    ways: list[set[frozenset[str]] | None] = [None] * len(units) + [{frozenset()}]
    for i in range(len(units) - 1, -1, -1):
        here: set[frozenset[str]] = set()
        for word, label in words:
            rest = ways[i + len(word)] if i + len(word) <= len(units) else None
            if rest and units[i : i + len(word)] == word:
                here |= {r | {label} for r in rest}
        ways[i] = here or None
    found = set().union(*ways[0]) if ways[0] else set()
    return _NO if _NO in found else _YES if _YES in found else None
