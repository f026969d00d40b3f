"""Escapes (人工, emergencies) and 对吗 answers under simulated Whisper errors, and their false accepts.

Whisper's errors on this line are mostly homophones (CER ≈ 20 %): 人工 → 人功, 对 → 队. Simulated here
by replacing 20 % of a text's Han characters (at least one) by a random common character with the same
toneless pinyin, as pronounced in the text (着火 is zhao huo, so 着 becomes 找 or 照, not 这).
Common characters: the 3,500 most frequent single-character words of jieba's dictionary among the
3,755 level-1 characters of GB 2312 (jieba's counts alone rank mojibake such as 鈥 among the common).

* recall: noisy variants of escape phrases (人工, 接线员, 着火了 …) must give the right escape
  (operator, or the right emergency line); noisy answers (对, 不对 …) must give no escape (the flow
  checks escapes first) and the right yes / no.
* false accepts: real citizen messages of the 2020 Teddy Cup C test splits (titles: as long as a
  spoken request; details: a minute's speech or more), read in place from ../shared, clean and
  noisy. Some messages really mention 人工 or an emergency, so the raw rate is an upper bound;
  "by pinyin only" counts the escapes the old exact-character rules did not give. The sound rules
  for words such as 救命 or 客服 apply to short utterances only, so the first 6 and 10 characters of
  each message are also tried (printed, not in the last line). For yes / no: the first 6
  characters of each message and a few handwritten non-answers (喂你好, 我想问一下 …), clean and
  noisy, must not be taken as an answer.

Limits: the noise is exact homophones read as the matcher reads them, so recall here is an upper
bound: Whisper also writes near-homophones (zh/z, n/l, -n/-ng), drops and adds characters. The
phrases were written by hand, and the rules tuned on these messages: a new sample would be fairer.

Usage: .venv/bin/python -m bench.escapes   or   python bench/escapes.py

Ends with one line: escape_recall=… answer_recall=… operator_false_accept=… escape_false_accept=…
answer_false_accept=… phrases=N messages=M (false accepts over clean + noisy messages of both splits).
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tipdm2020c_smart_gov" / "split"
MESSAGE_FILES = ("titles9210_test_text.csv", "details7905_test_text.csv")
SEED = 0
RATE = 0.2
VARIANTS = 40  # noisy variants per phrase
COMMON_CHARS = 3500  # the size of the 现代汉语常用字表: replacements a recogniser would plausibly write
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")

OPERATOR_PHRASES = (
    "人工", "转人工", "我要人工", "人工服务", "我要转人工", "帮我转人工", "转人工服务", "喂你好我要人工",
    "人工客服", "接线员", "我要找接线员", "转接线员", "真人", "我要真人", "找真人", "客服", "转客服", "我要找客服",
    # longer: a caller who gives up on the bot mid-sentence
    "我不想跟机器说话，我要人工", "你们这个系统听不懂我说的话帮我转人工服务", "喂喂你好请帮我转一下人工客服好吗",
)
EMERGENCY_PHRASES = (
    ("着火了", "119"), ("我家着火了", "119"), ("厨房起火了", "119"), ("楼下失火了快来人", "119"),
    ("煤气泄漏了", "119"), ("燃气泄漏了快来人", "119"), ("有人晕倒了快叫救护车", "120"), ("我爸晕倒了", "120"),
    ("有人昏迷了", "120"), ("有人溺水了", "120"), ("小孩触电了", "120"), ("救命啊", "110"),
    ("有人打架", "110"), ("有人拿刀砍人", "110"), ("救命有人抢劫", "110"), ("有人要跳楼", "110"),
    # longer: an emergency told as a request, where only the keyword can give it away
    ("喂你好我们小区门口有个老人突然晕倒了叫不醒", "120"), ("我们楼下的饭店厨房着火了烟很大你们快来", "119"),
    ("我刚才在公交站被人抢劫了手机他往东边跑了", "110"), ("我家隔壁好像煤气泄漏了味道很大", "119"),
)
YES_PHRASES = (
    "对", "对的", "是的", "是", "没错", "对对对", "嗯对", "对没错", "正确", "可以", "好的", "行",
    "是的没错", "对，就是这个", "没错就是这个",
)
NO_PHRASES = (
    "不对", "不是", "错了", "不是的", "不对不对", "不正确", "不行", "地点不对", "不对，地点错了", "不是这个",
)
NON_ANSWERS = (
    "喂你好", "喂", "你好", "我想问一下", "什么", "你说什么", "再说一遍", "没听清楚", "听不清", "信号不好",
    "请问", "等一下", "稍等", "怎么办", "哪个部门", "多久能处理", "我要投诉", "路灯坏了", "我要反映问题",
    "那个", "喂喂喂", "好像", "你们", "请问是市民热线吗",
)


def _use_project_packages() -> None:
    # Run as `python bench/escapes.py`, this file's folder comes first on sys.path and its asr.py would
    # shadow the `asr` package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


_use_project_packages()

import jieba  # noqa: E402
from pypinyin import Style, lazy_pinyin  # noqa: E402

from ivr_flows.escapes import EMERGENCY_LINES, OPERATOR_WORDS, Escape, escape_of, yes_no  # noqa: E402
from routing.types import emergency_of  # noqa: E402


def homophone_table() -> dict[str, list[str]]:
    """Toneless syllable → the common characters read that way (on their own)."""
    freq: dict[str, int] = {}
    with jieba.get_dict_file() as f:
        for line in f:
            word, count, *_ = line.decode("utf-8").split(" ")
            if len(word) == 1:
                freq[word] = int(count)
    han = [chr(cp) for cp in range(0x4E00, 0xA000) if chr(cp) in freq and level1_gb2312(chr(cp))]
    common = sorted(han, key=lambda c: (-freq[c], c))[:COMMON_CHARS]
    table: dict[str, list[str]] = {}
    for c in sorted(common):
        table.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    return table


def level1_gb2312(ch: str) -> bool:
    """Whether ch is one of GB 2312's 3,755 frequently used characters (rows 16-55, lead bytes B0-D7)."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7


def spoken(text: str) -> list[str]:
    """The toneless syllable of each character as read in context ('' for non-Han)."""
    out = [""] * len(text)
    for m in HAN_RUN.finditer(text):
        syl = lazy_pinyin(m.group(), style=Style.NORMAL)
        if len(syl) != len(m.group()):  # a character without a reading: read one by one
            syl = [(lazy_pinyin(c, style=Style.NORMAL) or [""])[0] for c in m.group()]
        out[m.start() : m.end()] = syl
    return out


def with_homophones(text: str, table: dict[str, list[str]], rng: random.Random) -> str:
    """text with round(20 % of its Han characters), at least one, replaced by homophones."""
    chars = list(text)
    syl = spoken(text)
    han = [i for i, c in enumerate(chars) if HAN_RUN.match(c)]
    options = {i: [o for o in table.get(syl[i], []) if o != chars[i]] for i in han}
    replaceable = [i for i in han if options[i]]
    for i in rng.sample(replaceable, min(max(1, round(RATE * len(han))), len(replaceable))):
        chars[i] = rng.choice(options[i])
    return "".join(chars)


def variants(phrase: str, table: dict[str, list[str]], rng: random.Random) -> list[str]:
    return [with_homophones(phrase, table, rng) for _ in range(VARIANTS)]


def rate(hits: int, n: int) -> float:
    return hits / n if n else 0.0


def recall(name: str, cases: Iterable[tuple[str, list[str]]], right: Callable[[str], bool]) -> tuple[int, int]:
    """Variants recognised / all variants; prints each phrase whose variants were not all recognised."""
    hits = total = 0
    misses: list[str] = []
    for phrase, noisy in cases:
        ok = [right(v) for v in noisy]
        hits, total = hits + sum(ok), total + len(ok)
        if not all(ok):
            wrong = sorted({v for v, good in zip(noisy, ok, strict=True) if not good})
            misses.append(f"  {phrase}: {len(ok) - sum(ok)}/{len(ok)} missed, e.g. {' '.join(wrong[:5])}")
    print(f"{name:<44} {hits}/{total} = {rate(hits, total):.3f}")
    for line in misses:
        print(line)
    return hits, total


def is_operator(esc: Escape | None) -> bool:
    return esc is not None and esc.target == "operator"


def old_escape(text: str) -> bool:
    """The exact-character rules before pinyin: what the figures would be without this change."""
    return emergency_of(text) in EMERGENCY_LINES or any(w in text for w in OPERATOR_WORDS)


def read_messages(name: str) -> list[str]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def false_accepts(name: str, texts: list[str]) -> tuple[int, int, int]:
    """(any escape, operator escape, escapes the old exact rules did not give); prints examples."""
    escapes = [escape_of(t) for t in texts]
    any_n = sum(e is not None for e in escapes)
    op_n = sum(is_operator(e) for e in escapes)
    new = [(t, e) for t, e in zip(texts, escapes, strict=True) if e is not None and not old_escape(t)]
    print(f"{name:<44} escape {any_n}/{len(texts)} = {rate(any_n, len(texts)):.4f}  "
          f"operator {op_n} = {rate(op_n, len(texts)):.4f}  by pinyin only {len(new)}")
    for t, e in new[:6]:
        print(f"  pinyin only -> {e.reason if e else ''}: {t[:70]}")
    return any_n, op_n, len(new)


def main() -> int:
    rng = random.Random(SEED)
    table = homophone_table()
    print(f"homophone table: {sum(map(len, table.values()))} common characters, {len(table)} syllables; "
          f"{VARIANTS} variants per phrase at {RATE:.0%} (seed {SEED})")

    print("== recall, clean phrases (must all be 1.000)")
    operator_cases = [(p, variants(p, table, rng)) for p in OPERATOR_PHRASES]
    emergency_cases = [(p, variants(p, table, rng)) for p, _ in EMERGENCY_PHRASES]
    yes_cases = [(p, variants(p, table, rng)) for p in YES_PHRASES]
    no_cases = [(p, variants(p, table, rng)) for p in NO_PHRASES]
    lines = dict(EMERGENCY_PHRASES)

    def emergency_right(phrase: str) -> Callable[[str], bool]:
        def right(text: str) -> bool:
            esc = escape_of(text)
            return esc is not None and esc.target == "emergency" and esc.line == lines[phrase]
        return right

    def answer_right(expected: bool) -> Callable[[str], bool]:
        # The flow checks escapes before the answer: an answer taken for 人工 is a miss.
        return lambda text: escape_of(text) is None and yes_no(text) is expected

    recall("operator phrases", [(p, [p]) for p in OPERATOR_PHRASES], lambda t: is_operator(escape_of(t)))
    for phrase, _ in EMERGENCY_PHRASES:
        recall(f"emergency {phrase}", [(phrase, [phrase])], emergency_right(phrase))
    recall("yes phrases", [(p, [p]) for p in YES_PHRASES], answer_right(True))
    recall("no phrases", [(p, [p]) for p in NO_PHRASES], answer_right(False))

    print(f"== recall, {RATE:.0%} homophones")
    op = recall("operator escapes", operator_cases, lambda t: is_operator(escape_of(t)))
    em = [recall(f"emergency {p}", [(p, v)], emergency_right(p)) for p, v in emergency_cases]
    em_hits, em_total = sum(h for h, _ in em), sum(n for _, n in em)
    print(f"{'emergency escapes, all':<44} {em_hits}/{em_total} = {rate(em_hits, em_total):.3f}")
    yes = recall("yes answers", yes_cases, answer_right(True))
    no = recall("no answers", no_cases, answer_right(False))
    escape_recall = rate(op[0] + em_hits, op[1] + em_total)
    answer_recall = rate(yes[0] + no[0], yes[1] + no[1])

    figures = {"escape_recall": f"{escape_recall:.3f}", "answer_recall": f"{answer_recall:.3f}",
               "operator_false_accept": "nan", "escape_false_accept": "nan"}  # nan: no message data
    short = list(NON_ANSWERS)
    messages: list[str] = []
    if not DATA.is_dir():
        print(f"skipped false accepts on messages: data not found at {DATA}", file=sys.stderr)
    else:
        print("== false accepts: real messages taken as an escape")
        totals = [0, 0, 0, 0]  # any, operator, pinyin only, texts
        for name in MESSAGE_FILES:
            texts = read_messages(name)
            messages += texts
            noisy = [with_homophones(t, table, random.Random(f"{SEED}:{name}:{i}")) for i, t in enumerate(texts)]
            for label, batch in (("clean", texts), ("20% homophones", noisy)):
                a, o, p = false_accepts(f"{name.split('_')[0]} {label}", batch)
                totals = [totals[0] + a, totals[1] + o, totals[2] + p, totals[3] + len(batch)]
            short += [t[:6] for t in texts]
        print(f"{'all messages, clean + noisy':<44} escape {rate(totals[0], totals[3]):.4f}  "
              f"operator {rate(totals[1], totals[3]):.4f}  by pinyin only {rate(totals[2], totals[3]):.4f}")
        figures["operator_false_accept"] = f"{rate(totals[1], totals[3]):.4f}"
        figures["escape_false_accept"] = f"{rate(totals[0], totals[3]):.4f}"
        times = []
        for t in messages:
            t0 = time.perf_counter()
            escape_of(t)
            times.append((time.perf_counter() - t0) * 1000)
        q = statistics.quantiles(times, n=100, method="inclusive")
        print(f"escape_of latency on messages: p50={q[49]:.2f} ms p95={q[94]:.2f} ms max={max(times):.1f} ms")

    if messages:
        # The sound rules for words like 救命 / 打架 / 客服 apply to short utterances only: look at short ones.
        print("== false accepts: short fragments (first 6 / first 10 characters) of messages taken as an escape")
        for size in (6, 10):
            frags = [t[:size] for t in messages]
            noisy_frags = [with_homophones(t, table, random.Random(f"{SEED}:frag{size}:{i}"))
                           for i, t in enumerate(frags)]
            for label, batch in (("clean", frags), ("20% homophones", noisy_frags)):
                false_accepts(f"first {size} characters, {label}", batch)

    print("== false accepts: short non-answers taken as yes / no")
    noisy_short = [with_homophones(t, table, random.Random(f"{SEED}:short:{i}")) for i, t in enumerate(short)]
    taken = 0
    for label, batch in (("clean", short), ("20% homophones", noisy_short)):
        answers = [(t, yes_no(t)) for t in batch]
        hit = [(t, a) for t, a in answers if a is not None]
        taken += len(hit)
        print(f"{'short non-answers ' + label:<44} {len(hit)}/{len(batch)} = {rate(len(hit), len(batch)):.4f}")
        for t, a in hit[:8]:
            print(f"  taken as {'yes' if a else 'no'}: {t}")
    figures["answer_false_accept"] = f"{rate(taken, 2 * len(short)):.4f}"
    figures["phrases"] = str(len(OPERATOR_PHRASES) + len(EMERGENCY_PHRASES) + len(YES_PHRASES) + len(NO_PHRASES))
    figures["messages"] = str(len(messages))
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
