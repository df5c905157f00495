"""Which span each SLA target measures, on a 24/7 calendar so business time is wall time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.sla.calendar import BusinessCalendar
from helpdesk.sla.policy import Conditions, Policy, TicketSnapshot, evaluate

OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = Policy(id=1, name="Standard", conditions=Conditions(),
                targets={"normal": {"first_response": 60, "next_response": 60, "resolution": 480}})


def clocks(ticket: TicketSnapshot, now: datetime) -> dict[str, tuple[str, datetime | None, timedelta]]:
    return {clock.target: (clock.state, clock.stopped_at, clock.elapsed)
            for clock in evaluate(POLICY, BusinessCalendar.always(), ticket, now)}


def ticket(status: str = "open", **fields) -> TicketSnapshot:
    return TicketSnapshot(id=1, priority="normal", status=status, channel="email", created_at=OPENED, **fields)


def test_a_ticket_solved_without_a_reply_stops_its_first_response_at_the_solve() -> None:
    solved = OPENED + timedelta(minutes=20)
    result = clocks(ticket(status="solved", status_changes=((solved, "solved"),)), OPENED + timedelta(days=2))
    assert result["first_response"] == ("met", solved, timedelta(minutes=20))
    assert result["resolution"] == ("met", solved, timedelta(minutes=20))


def test_a_late_solve_without_a_reply_is_a_breach_not_a_clock_left_running() -> None:
    solved = OPENED + timedelta(minutes=90)
    result = clocks(ticket(status="closed", status_changes=((solved, "closed"),)), OPENED + timedelta(days=2))
    assert result["first_response"] == ("breached", solved, timedelta(minutes=90))


def test_solving_stops_a_waiting_next_response() -> None:
    replied, thanks, solved = (OPENED + timedelta(minutes=m) for m in (10, 30, 45))
    result = clocks(ticket(status="solved", status_changes=((solved, "solved"),), replies_delivered=(replied,),
                           customer_messages=(OPENED, thanks)), OPENED + timedelta(days=1))
    assert result["first_response"] == ("met", replied, timedelta(minutes=10))
    assert result["next_response"] == ("met", solved, timedelta(minutes=15))


def test_an_open_ticket_without_a_reply_keeps_its_first_response_running() -> None:
    result = clocks(ticket(), OPENED + timedelta(minutes=30))
    assert result["first_response"] == ("running", None, timedelta(minutes=30))
    assert "next_response" not in result
