"""The event data the indicators read is what the real workflow writes (tickets.workflow.apply_action)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from deadlines.policy import Policy
from foundation.db import transaction
from reports.indicators import compute
from routing.catalog import load_catalog
from tickets import service
from tickets.schemas import TicketDraft
from tickets.workflow import apply_action


def test_indicators_follow_the_real_workflow(session_factory: sessionmaker[Session]) -> None:
    policy, catalog = Policy.load(), load_catalog()
    now = datetime.now(UTC)

    def act(tid: int, action: str, role: str, reason: str = "", **params: object) -> None:
        with transaction(session_factory) as s:
            apply_action(s, ticket_id=tid, action=action, role=role, actor=role, now=datetime.now(UTC),
                         policy=policy, catalog=catalog, reason=reason, params=params)

    ids = []
    for _ in range(2):
        with transaction(session_factory) as s:
            ids.append(service.open_ticket(s, draft=TicketDraft(transcript="公司拖欠工资", type="投诉",
                                                                category="劳动和社会保障"), actor="ivr").id)
    one, two = ids
    act(one, "dispatch", "dispatcher", department_id="hrss")
    for action in ("sign", "start", "report_result"):
        act(one, action, "department")
    act(one, "schedule_callback", "system")
    act(one, "close", "system", satisfaction="basically_satisfied")
    act(two, "dispatch", "dispatcher", department_id="hrss")
    act(two, "return", "department", reason="不属于本单位职责")
    act(two, "review_return", "dispatcher", reason="改派", decision="redispatch", department_id="housing")
    act(two, "sign", "department")
    act(two, "supervise", "system", level=1)

    with session_factory() as s:
        r = compute(s, start=now - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1),
                    now=datetime.now(UTC) + timedelta(hours=1))
    o = r.overall
    assert o.accepted == 2 and (o.completion_rate.numerator, o.completion_rate.denominator) == (1, 2)
    assert (o.satisfaction_rate.numerator, o.satisfaction_rate.denominator) == (1, 1)
    assert (o.callback_rate.numerator, o.callback_rate.denominator) == (1, 1)
    assert (o.return_rate.numerator, o.return_rate.denominator) == (1, 3)  # dispatch, dispatch, 改派
    assert o.avg_sign_minutes.count == 2 and o.avg_resolve_hours.count == 1 and o.supervised == 1
    hrss = next(d for d in r.departments if d.department_id == "hrss")
    housing = next(d for d in r.departments if d.department_id == "housing")
    assert hrss.return_rate.numerator == 1 and housing.return_rate.numerator == 0  # the returner is charged
    assert housing.supervised == 1 and housing.avg_sign_minutes.count == 1
