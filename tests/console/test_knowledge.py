"""Knowledge base: tokens, ranking, CRUD with validation, seeding."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foundation.db import transaction
from knowledge import service as kb
from knowledge.schemas import KbEntryIn, KbEntryPatch
from knowledge.search import Document, rank, tokens
from routing.catalog import load_catalog

CATALOG = load_catalog()


def test_tokens_are_bigrams_unigrams_and_latin_words() -> None:
    toks = tokens("社保卡丢了 12333 ETC怎么办")
    assert {"社保", "保卡", "卡丢", "12333", "etc"} <= set(toks)
    assert "怎么" not in toks and "了" not in toks  # function words are not evidence


DOCS = [Document(1, {"title": "社保卡丢失补办", "tags": "社保卡 挂失", "question": "社保卡丢了怎么办",
                     "answer": "先挂失"}),
        Document(2, {"title": "路灯不亮怎么报修", "tags": "路灯", "question": "路灯坏了", "answer": "登记报修"}),
        Document(3, {"title": "12345热线服务时间", "tags": "热线", "question": "晚上有人接吗", "answer": "7×24小时"})]


@pytest.mark.parametrize(("query", "best"), [
    ("我的社保卡丢了", 1), ("金盘路路灯坏了好几天", 2), ("你们晚上有人接电话吗", 3),
    ("社包卡丢了", 1),  # one misrecognised character still finds it
])
def test_rank_finds_the_right_entry(query: str, best: int) -> None:
    assert rank(query, DOCS)[0].id == best


def test_rank_needs_more_than_a_shared_character() -> None:
    assert rank("今天天气不错", DOCS) == []
    assert rank("", DOCS) == []
    assert rank("卡", DOCS) == []


def test_seed_is_idempotent_and_includes_department_hotlines(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        added = kb.seed_if_empty(s, catalog=CATALOG)
        assert added >= 12
        assert kb.seed(s, catalog=CATALOG) == 0
        assert kb.seed_if_empty(s, catalog=CATALOG) == 0
        entry, hit = kb.search(s, query="12319是哪个部门的电话")[0]
        assert entry.department_id == "urban_mgmt" and "12319" in hit.matched


def test_seed_does_not_bring_back_deleted_entries(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        kb.seed_if_empty(s, catalog=CATALOG)
        first, _ = kb.list_entries(s, limit=1)
        kb.delete_entry(s, entry_id=first[0].id)
    with transaction(session_factory) as s:
        assert kb.seed_if_empty(s, catalog=CATALOG) == 0


def test_crud_validates_and_inactive_entries_are_not_found(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        e = kb.create_entry(s, data=KbEntryIn(title="  燃气报修  ", answer="拨打燃气公司抢修电话", tags="燃气 漏气",
                                               category="城乡建设", department_id="gas"),
                            actor="admin:a", catalog=CATALOG)
        assert e.title == "燃气报修"
        assert kb.search(s, query="家里燃气漏气了")[0][0].id == e.id
        kb.update_entry(s, entry_id=e.id, patch=KbEntryPatch(active=False), actor="admin:a", catalog=CATALOG)
        assert kb.search(s, query="家里燃气漏气了") == []
        with pytest.raises(kb.KbInvalid):
            kb.create_entry(s, data=KbEntryIn(title="x", answer="y", category="火星"), actor="a", catalog=CATALOG)
        with pytest.raises(kb.KbInvalid):
            kb.update_entry(s, entry_id=e.id, patch=KbEntryPatch(department_id="nasa"), actor="a", catalog=CATALOG)
        with pytest.raises(kb.KbEntryNotFound):
            kb.get_entry(s, entry_id=10_000)


def test_department_entries_come_first_for_the_tickets_department(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        a = kb.create_entry(s, data=KbEntryIn(title="停水通知", answer="a", tags="停水", department_id="water"),
                            actor="a", catalog=CATALOG)
        b = kb.create_entry(s, data=KbEntryIn(title="停水停水通知", answer="b", tags="停水 停水",
                                              department_id="district"),
                            actor="a", catalog=CATALOG)
        assert [e.id for e, _ in kb.search(s, query="停水")] == [b.id, a.id]
        assert [e.id for e, _ in kb.search(s, query="停水", department_id="water")] == [a.id, b.id]
