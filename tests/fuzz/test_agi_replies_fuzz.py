"""Property tests for the AGI reply parser (agi.replies): any input gives a reply or a documented error.

The documented errors are AgiHangup, AgiInvalidCommand, AgiUsageError and AgiUnexpectedReply; a
ValueError, IndexError or a hang on some odd line would take a call down with it.
"""

from __future__ import annotations

import io
import re
import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agi.errors import AgiHangup, AgiInvalidCommand, AgiUnexpectedReply, AgiUsageError
from agi.replies import MAX_REPLY_LINE_CHARS, MAX_USAGE_LINES, AgiReply, parse_reply, reply_lines

DOCUMENTED = (AgiHangup, AgiInvalidCommand, AgiUsageError, AgiUnexpectedReply)

# The grammar as the single regex it used to be: the reference for the linear-time parser, on inputs
# short enough for its backtracking not to matter.
REFERENCE_RE = re.compile(
    r"^result=(?P<result>\S*)"
    r"(?:\s+\((?P<value>.*)\))?"
    r"(?P<extras>(?:\s+[\w-]+=\S*)*)\s*$"
)
EXTRA_RE = re.compile(r"([\w-]+)=(\S*)")

# Characters that matter to the grammar, mixed with anything at all.
GRAMMAR_CHARS = st.sampled_from(list("()= -_\t\r\n\x0b\x85\u2028\u3000resultendpos0123456789"))
LINE = st.text(st.one_of(GRAMMAR_CHARS, st.characters()), max_size=60)


def _check(reply: AgiReply) -> None:
    # The accessors must be total too.
    assert isinstance(reply.result_int, int | None)
    assert isinstance(reply.digit, str) and len(reply.digit) <= 1
    assert isinstance(reply.endpos, int | None)


@given(st.lists(LINE, max_size=4))
@example(["200 result=1 (" + ") k=v" * 3 + " !"])
@example(["200 result=" + "9" * 5000 + " (dtmf)"])  # a result too long to be a code point
@example(["200 result=1114112 (dtmf)"])
@example(["200 result=1 endpos=-"])
@example(["520-x"])
@example(["⓵"])  # str.isdigit() is True, int() refused it: a ValueError took the call down
@example(["200 result=1 endpos=²"])
@example(["200 result=1 endpos=--5"])
def test_parse_reply_raises_only_documented_errors(lines: list[str]) -> None:
    try:
        reply = parse_reply(lines)
    except DOCUMENTED:
        return
    assert reply.code == 200
    _check(reply)


@given(st.text(st.one_of(GRAMMAR_CHARS, st.characters()), max_size=400))
def test_reading_any_stream_raises_only_documented_errors(text: str) -> None:
    stream = io.StringIO(text)
    for _ in range(20):
        try:
            reply = parse_reply(reply_lines(stream.readline))
        except AgiHangup:
            return  # EOF ends every stream
        except DOCUMENTED:
            continue
        _check(reply)


@settings(max_examples=500)
@given(LINE)
@example("=1 (a) k=v)")  # greedy: the value is "a) k=v", since "k=v)" is a valid extra
def test_200_lines_parse_exactly_as_the_reference_grammar(tail: str) -> None:
    line = "200 result" + tail
    rest = line.strip().partition(" ")[2].strip()
    m = REFERENCE_RE.match(rest)
    try:
        reply = parse_reply([line])
    except AgiUnexpectedReply:
        assert m is None, f"reference grammar accepts {line!r}"
        return
    assert m is not None, f"reference grammar rejects {line!r}"
    assert (reply.result, reply.value) == (m.group("result"), m.group("value") or "")
    assert reply.extras == dict(EXTRA_RE.findall(m.group("extras") or ""))


@settings(max_examples=1500)  # cheap: the reference regex on short strings
@given(st.text(st.sampled_from(list("()= kv=\t!a")), max_size=24).map(lambda t: "result=1 " + t))
def test_dense_grammar_characters_match_the_reference(rest: str) -> None:
    m = REFERENCE_RE.match(rest.strip())
    try:
        reply = parse_reply(["200 " + rest])
    except AgiUnexpectedReply:
        assert m is None
        return
    assert m is not None
    assert (reply.result, reply.value) == (m.group("result"), m.group("value") or "")


NOT_SPACE = st.characters(exclude_categories=["Cs"]).filter(lambda c: not c.isspace() and c != "\n")
VALUE_CHAR = st.characters(exclude_categories=["Cs"]).filter(lambda c: c not in "\r\n")


@given(
    result=st.text(NOT_SPACE, max_size=12),
    value=st.none() | st.text(VALUE_CHAR, max_size=30),
    extras=st.dictionaries(st.from_regex(r"[\w-]+", fullmatch=True).filter(lambda k: "\n" not in k),
                           st.text(NOT_SPACE, max_size=8), max_size=3),
)
def test_well_formed_200_replies_round_trip(result: str, value: str | None, extras: dict[str, str]) -> None:
    line = f"200 result={result}"
    if value is not None:
        line += f" ({value})"
    line += "".join(f" {k}={v}" for k, v in extras.items())
    reply = parse_reply(reply_lines(io.StringIO(line + "\r\n").readline))
    assert reply.result == result
    assert reply.extras == extras
    if value is not None:
        assert reply.value == value
    else:
        assert reply.value == ""


@given(st.lists(st.text(st.characters(blacklist_characters="\r\n"), max_size=30), max_size=10))
def test_usage_blocks_round_trip(body: list[str]) -> None:
    body = [b for b in body if not b.startswith("520 ")]
    text = "520-Invalid command syntax.  Proper usage follows:\n" + "".join(f"{b}\n" for b in body)
    text += "520 End of proper usage.\n"
    try:
        parse_reply(reply_lines(io.StringIO(text).readline))
    except AgiUsageError as exc:
        assert exc.usage.startswith("520-Invalid") and exc.usage.endswith("520 End of proper usage.")
    else:
        raise AssertionError("a 520 block must raise AgiUsageError")


def test_pathological_line_parses_in_linear_time() -> None:
    # The old single-regex parser took ~25 s on n=10_000 and ~9 min on n=50_000 (quadratic backtracking).
    line = "200 result=1 (" + ") k=v" * 150_000 + " !"
    started = time.perf_counter()
    try:
        parse_reply([line])
    except AgiUnexpectedReply:
        pass
    else:
        raise AssertionError("an unbalanced tail is not a reply")
    # A bound on blow-up, not a speed target (bench/hardening.py measures): ~0.1 s here, minutes before.
    assert time.perf_counter() - started < 10.0


def test_endless_usage_block_is_cut_off() -> None:
    lines = iter(["520-start\n"] + [f"line {i}\n" for i in range(MAX_USAGE_LINES + 10)])
    try:
        reply_lines(lambda: next(lines))
    except AgiUnexpectedReply as exc:
        assert "usage block" in str(exc)
    else:
        raise AssertionError("an endless 520 block must be refused")


@settings(max_examples=5)
@given(st.integers(min_value=1, max_value=3))
def test_overlong_reply_line_is_refused_not_held(extra: int) -> None:
    stream = io.StringIO("200 result=1 (" + "x" * (MAX_REPLY_LINE_CHARS + extra) + ")\n")
    reads: list[int] = []

    def bounded() -> str:
        got = stream.readline(MAX_REPLY_LINE_CHARS + 2)
        reads.append(len(got))
        return got

    try:
        reply_lines(bounded)
    except AgiUnexpectedReply as exc:
        assert "longer than" in str(exc)
    else:
        raise AssertionError("an over-long line must be refused")
    assert max(reads) <= MAX_REPLY_LINE_CHARS + 2
