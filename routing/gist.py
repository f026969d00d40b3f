"""What the bot reads back to the caller: the gist it understood, not the words it heard.

Recognition gets about one character in five wrong on a phone line (mostly homophones). Read back word
for word, that confuses callers ("广州市佛地产中间协会" for 房地产中介协会); read back as the topic, the
key things named and the place, the caller can judge it, and the full text goes to the operator.
"""

from __future__ import annotations

from collections.abc import Iterable

# Parts of speech worth reading back (jieba): nouns, other proper nouns, verbal nouns.
_KEEP = frozenset({"n", "nz", "vn", "nr", "nt", "j", "l"})
# Nouns that say nothing about the problem.
_EMPTY = frozenset({"问题", "事情", "情况", "事", "东西", "时候", "人", "我们", "你们", "他们", "大家", "电话",
                    "热线", "一下", "这个", "那个", "地方", "方面", "现在", "今天", "昨天", "晚上", "白天"})
MAX_WORDS = 3


def key_nouns(text: str, *, leave_out: Iterable[str] = (), limit: int = MAX_WORDS) -> list[str]:
    """The first few distinct content nouns of `text`, minus those inside the place already named."""
    import jieba.posseg

    skip = [p for p in leave_out if p]
    words: list[str] = []
    for token in jieba.posseg.cut(text):
        word, flag = token.word, token.flag
        if flag not in _KEEP or len(word) < 2 or word in _EMPTY or word in words:
            continue
        if any(word in place for place in skip):
            continue
        words.append(word)
        if len(words) >= limit:
            break
    return words


def gist_of(text: str, *, category: str, type_: str, place: str, summary: str) -> str:
    """One sentence: the topic and type, the key things named, the place. `summary` when nothing is named."""
    nouns = key_nouns(text, leave_out=[place])
    if not nouns:
        about = summary or text
        return about + (f"，地点是{place}" if place else "")
    topic = f"{category}方面的{type_ or '问题'}" if category else (type_ or "问题")
    return f"{topic}，涉及{'、'.join(nouns)}" + (f"，地点是{place}" if place else "")


def warm() -> None:
    """Load jieba's part-of-speech dictionary now (about a second), not during a caller's turn."""
    key_nouns("路灯")
