"""Learning from people's decisions: routing.corrections.load on SQLite and PostgreSQL, weighting, and
`hotline router train --from-tickets` changing what the router says (department and type)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from foundation.db import transaction
from foundation.settings import Settings
from routing.catalog import Catalog
from routing.classify import Router
from routing.cli import cmd_classify, cmd_train
from routing.corrections import Correction
from routing.learn import LearnConfig, catalog_examples, recency, training_set
from routing.models import RoutingCorrection
from routing.types import TypeClassifier
from tests.routing.conftest import toy_rows
from tests.routing.test_train import SMALL, write_csv
from tickets import routing_decisions as corrections
from tickets import service
from tickets.models import Ticket
from tickets.routing_decisions import read_decisions
from tickets.schemas import DepartmentCandidate, TicketDraft
from tickets.workflow import apply_action

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

# Requests the toy router files under urban management; operators sent them to the fire brigade.
FIRE_RISKS = [
    "楼道里有人给电动车充电拉了好几根电线",
    "邻居把电瓶车推进楼道里充电",
    "小区楼道里停满电动车还在充电",
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


def _open(factory: sessionmaker[Session], catalog: Catalog, text: str, *, dept: str = "urban_mgmt",
          type_: str = "投诉", category: str = "城乡建设") -> int:
    draft = TicketDraft(transcript=text, type=type_, category=category, router_source="trained",
                        departments=[DepartmentCandidate(id=dept, name=catalog.get(dept).name, confidence=0.6)])
    with transaction(factory) as s:
        return service.open_ticket(s, draft=draft, actor="ivr").id


def _act(factory: sessionmaker[Session], policy: Policy, catalog: Catalog, ticket_id: int, action: str, role: str,
         *, now: datetime, reason: str = "", **params: object) -> None:
    with transaction(factory) as s:
        apply_action(s, ticket_id=ticket_id, action=action, role=role, actor=f"{role}-1", now=now,
                     policy=policy, catalog=catalog, reason=reason, params=params)


def _redispatch(factory: sessionmaker[Session], policy: Policy, catalog: Catalog, tid: int, to: str,
                now: datetime) -> None:
    """Dispatched as proposed; the department returns it (退单); the center re-dispatches it (改派)."""
    _act(factory, policy, catalog, tid, "dispatch", "operator", now=now, department_id="urban_mgmt")
    _act(factory, policy, catalog, tid, "return", "department", now=now + timedelta(minutes=5),
         reason="不属于我单位职责")
    _act(factory, policy, catalog, tid, "review_return", "dispatcher", now=now + timedelta(minutes=9),
         reason="属消防职责", decision="redispatch", department_id=to)


def test_load_reads_the_event_log_and_the_console_table(session_factory: sessionmaker[Session], policy: Policy,
                                                        catalog: Catalog) -> None:
    returned = _open(session_factory, catalog, FIRE_RISKS[0])
    _redispatch(session_factory, policy, catalog, returned, "fire_rescue", T0)
    agreed = _open(session_factory, catalog, "小区路灯坏了好几天", dept="urban_mgmt")
    _act(session_factory, policy, catalog, agreed, "dispatch", "operator", now=T0, department_id="urban_mgmt")
    overruled = _open(session_factory, catalog, "公司拖欠三个月工资", dept="urban_mgmt")
    _act(session_factory, policy, catalog, overruled, "dispatch", "operator", now=T0, department_id="hrss")
    edited = _open(session_factory, catalog, "希望在小区门口增设一个公交站", type_="投诉")
    consoled = _open(session_factory, catalog, "河里有死鱼，水发臭", dept="water")
    with transaction(session_factory) as s:
        s.get_one(Ticket, edited).type = "建议"  # a screen that edits the ticket row
        s.add(RoutingCorrection(ticket_id=consoled, created_at=T0, actor="op-7", text="河里有很多死鱼，水发臭",
                                original_text="河里有死鱼，水发臭", original_type="投诉", type="举报",
                                original_category="城乡建设", category="环境保护",
                                original_department_id="water", department_id="eco_env",
                                router_source="trained", changed=True))
    never_dispatched = _open(session_factory, catalog, "还没有人处理的请求")

    with session_factory() as s:
        found = corrections.load(s)
    by = {(c.ticket_id, c.field): c for c in found}
    # 退单 + 改派: the last department decided; the one proposed (and returned) is the original.
    c = by[(returned, "department")]
    assert (c.original, c.value, c.source, c.changed) == ("urban_mgmt", "fire_rescue", "redispatch", True)
    assert c.text == FIRE_RISKS[0]
    assert by[(agreed, "department")].changed is False
    assert (by[(overruled, "department")].value, by[(overruled, "department")].changed) == ("hrss", True)
    t = by[(edited, "type")]
    assert (t.original, t.value, t.source) == ("投诉", "建议", "ticket_edit")
    assert {(f, by[(consoled, f)].value) for f in ("type", "category", "department")} == {
        ("type", "举报"), ("category", "环境保护"), ("department", "eco_env")}
    assert by[(consoled, "department")].text == "河里有很多死鱼，水发臭"  # the operator's corrected transcript
    assert not any(c.ticket_id == never_dispatched for c in found)  # nothing decided yet
    assert [x.at for x in found] == sorted(x.at for x in found)
    latest = max(x.at for x in found)
    with session_factory() as s:
        assert corrections.load(s, since=latest) == [x for x in found if x.at >= latest] != []
        assert corrections.load(s, since=latest + timedelta(days=1000)) == []


def test_a_later_redispatch_overrides_the_console_decision(session_factory: sessionmaker[Session], policy: Policy,
                                                            catalog: Catalog) -> None:
    tid = _open(session_factory, catalog, FIRE_RISKS[1])
    with transaction(session_factory) as s:
        s.add(RoutingCorrection(ticket_id=tid, created_at=T0 - timedelta(minutes=1), actor="op-1",
                                text=FIRE_RISKS[1], original_text=FIRE_RISKS[1], original_type="投诉", type="投诉",
                                original_category="城乡建设", category="城乡建设",
                                original_department_id="urban_mgmt", department_id="urban_mgmt",
                                router_source="trained", changed=False))
    _redispatch(session_factory, policy, catalog, tid, "fire_rescue", T0)
    with session_factory() as s:
        dept = [c for c in corrections.load(s) if c.field == "department"]
    assert [(c.value, c.source) for c in dept] == [("fire_rescue", "redispatch")]


def test_weights_favour_corrections_and_recent_decisions(catalog: Catalog) -> None:
    config = LearnConfig(correction_weight=5.0, agreement_weight=1.0, half_life_days=30.0)
    now = T0 + timedelta(days=60)
    assert recency(now, now=now, config=config) == 1.0
    assert recency(T0, now=now, config=config) == pytest.approx(0.25)
    assert recency(T0 - timedelta(days=3650), now=now, config=config) == config.min_recency
    decisions = [
        Correction(1, T0, "路灯坏了", "department", "water", "urban_mgmt", "redispatch"),
        Correction(2, now, "路灯不亮", "department", "urban_mgmt", "urban_mgmt", "dispatch"),
        Correction(3, now, "化工厂排污", "category", "城乡建设", "环境保护", "console"),
        Correction(3, now, "化工厂排污", "department", "eco_env", "eco_env", "console"),
        Correction(4, now, "乡镇的事", "department", "", "some_unit_code", "dispatch"),
        Correction(5, now, "建议加开公交", "type", "投诉", "建议", "console"),
    ]
    data = training_set(["base"], ["城乡建设"], decisions, catalog=catalog, now=now, config=config)
    rows = list(zip(data.texts, data.labels, data.weights, strict=True))
    assert rows == [("base", "城乡建设", 1.0), ("路灯坏了", "urban_mgmt", pytest.approx(1.25)),
                    ("路灯不亮", "urban_mgmt", 1.0), ("化工厂排污", "环境保护", 5.0)]
    assert data.skipped == {"department not in the catalog": 1}
    assert data.type_examples == [("建议加开公交", "建议", 5.0)]


def test_a_type_correction_changes_the_type_prediction() -> None:
    text = "小区门口那条路晚上太黑了"
    plain = TypeClassifier()
    assert plain.classify(text)[0] == "投诉"
    learned = TypeClassifier(learned=[(text, "求助", 5.0)])
    assert learned.classify(text)[0] == "求助"
    # One correction moves its own phrasing, not the shipped behaviour elsewhere.
    assert learned.classify("我要举报隔壁的黑作坊")[0] == "举报"
    assert TypeClassifier(learned=[(text, "不是类型", 5.0)]).classify(text)[0] == "投诉"


def test_train_from_tickets_learns_departments_and_types(
    session_factory: sessionmaker[Session], settings: Settings, policy: Policy, catalog: Catalog, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = write_csv(tmp_path / "base.csv", *toy_rows())
    model_file = tmp_path / "router.joblib"
    probe = "我们楼道里好多电动车在充电"
    assert cmd_train(data, "text", "label", model_file, config=SMALL) == 0
    before = Router.load(model_file, catalog).classify(probe)
    assert before.departments[0].id != "fire_rescue"
    assert Router.load(model_file, catalog).classify("小区门口的路太黑了希望装个路灯").type == "建议"

    for i, text in enumerate(FIRE_RISKS):
        tid = _open(session_factory, catalog, text)
        _redispatch(session_factory, policy, catalog, tid, "fire_rescue", T0 + timedelta(hours=i))
    typed = _open(session_factory, catalog, "能不能在我们小区门口装个路灯", type_="建议")
    with transaction(session_factory) as s:
        s.get_one(Ticket, typed).type = "求助"
    capsys.readouterr()
    people = partial(read_decisions, settings.db_url)
    assert cmd_train(data, "text", "label", model_file, decisions=people, config=SMALL) == 0
    out = capsys.readouterr().out
    assert "from tickets: 4 decisions, 4 of them corrections, 1 type examples" in out

    router = Router.load(model_file, catalog)
    after = router.classify(probe)
    assert after.departments[0].id == "fire_rescue", after.departments
    assert router.classify("能不能在我们小区门口装个路灯").type == "求助"
    assert router.predict_categories([probe]) == [catalog.get("fire_rescue").primary_category]
    assert router.classify("公司拖欠三个月工资").departments[0].id == "hrss"  # the base data still counts
    assert cmd_classify(probe, model_file) == 0
    assert json.loads(capsys.readouterr().out)["departments"][0]["id"] == "fire_rescue"


def test_train_from_tickets_without_a_csv_starts_from_the_catalog(
    session_factory: sessionmaker[Session], settings: Settings, policy: Policy, catalog: Catalog, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    texts, labels = catalog_examples(catalog)
    assert len(texts) > 200 and set(labels) <= set(catalog.categories)
    for i, text in enumerate(FIRE_RISKS):
        tid = _open(session_factory, catalog, text)
        _redispatch(session_factory, policy, catalog, tid, "fire_rescue", T0 + timedelta(hours=i))
    model_file = tmp_path / "router.joblib"
    people = partial(read_decisions, settings.db_url)
    assert cmd_train(None, "text", "label", model_file, decisions=people, config=SMALL) == 0
    assert "catalog keywords" in capsys.readouterr().out
    router = Router.load(model_file, catalog)
    assert router.classify("我们楼道里好多电动车在充电").departments[0].id == "fire_rescue"
    assert router.classify("公司拖欠工资三个月了").departments[0].id == "hrss"


def test_train_needs_some_data_and_a_readable_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_file = tmp_path / "router.joblib"
    assert cmd_train(None, "text", "label", model_file) == 2
    assert "--csv" in capsys.readouterr().err
    empty = tmp_path / "empty.db"
    assert cmd_train(None, "text", "label", model_file, decisions=partial(read_decisions, f"sqlite:///{empty}")) == 2
    err = capsys.readouterr().err
    assert "cannot read tickets" in err and "Traceback" not in err
    assert not model_file.exists()
