"""People's routing decisions as labelled data for the router. The records and the rule that merges them
live here; tickets.routing_decisions reads them from the ticket tables and this package's own table.

Sources, in the order they are read (for one ticket and one field the latest decision wins):

1. ``routing_corrections`` (routing.models.RoutingCorrection): written by the operator console on each
   confirm & dispatch, with the router's proposal (``original_*``) and the operator's choice for type,
   category and department, and the transcript as the operator corrected it.
2. The ticket event log (tickets.workflow), for what happens after the console:
   - ``dispatched``: the department a person dispatched to, against the router's proposal stored in the
     ``accepted`` event when the router pre-filled the ticket (``router_source`` set);
   - ``return_reviewed`` with decision ``redispatch`` (退单 upheld, 改派): the department that took it over
     is the right one and the one that returned it was wrong;
   - ``reopened`` with a department (dissatisfied caller, re-dispatched elsewhere).
3. The ticket row itself: a type or category that differs from the router's proposal in the
   ``accepted`` event was edited by a person (a screen that edits tickets without writing source 1).

Every record says whether the person changed the proposal (`Correction.changed`): training weights
corrections above agreements, and recent decisions above old ones (routing.learn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

FIELDS = ("type", "category", "department")


@dataclass(frozen=True)
class Correction:
    ticket_id: int
    at: datetime
    text: str  # what the caller asked (transcript, as corrected when the console corrected it)
    field: str  # 'type', 'category' or 'department' (a department id)
    original: str  # the router's proposal (or the department the ticket was on); '' when unknown
    value: str  # what a person decided
    source: str  # 'console', 'dispatch', 'redispatch', 'reopen' or 'ticket_edit'

    @property
    def changed(self) -> bool:
        return bool(self.original) and self.original != self.value


def latest_decisions(sources: Iterable[Iterable[Correction]], *, since: datetime | None = None) -> list[Correction]:
    """One decision per (ticket, field): the latest, in the order the sources are given; oldest first.

    Records without text or value are skipped: there is nothing to learn from."""
    latest: dict[tuple[int, str], Correction] = {}
    for records in sources:
        for c in records:
            if not c.text.strip() or not c.value:
                continue
            if since is not None and c.at < since:
                continue
            key = (c.ticket_id, c.field)
            if key not in latest or c.at >= latest[key].at:
                latest[key] = c
    return sorted(latest.values(), key=lambda c: (c.at, c.ticket_id, FIELDS.index(c.field)))
