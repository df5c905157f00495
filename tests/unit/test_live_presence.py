"""The presence board: per-connection marks, one entry per agent, expiry of silent marks."""

from helpdesk.live.presence import PresenceBoard


def test_marks_aggregate_per_agent_and_replying_wins() -> None:
    board = PresenceBoard()
    assert board.apply(7, "a:1", agent_id=2, state="viewing", now=0) is True
    assert board.apply(7, "a:2", agent_id=2, state="replying", now=0) is True
    assert board.apply(7, "b:1", agent_id=1, state="viewing", now=0) is True
    assert board.on_ticket(7) == [{"agent_id": 1, "state": "viewing"}, {"agent_id": 2, "state": "replying"}]
    # Closing the replying tab leaves the viewing one.
    assert board.apply(7, "a:2", agent_id=2, state=None, now=0) is True
    assert board.on_ticket(7) == [{"agent_id": 1, "state": "viewing"}, {"agent_id": 2, "state": "viewing"}]


def test_repeating_a_mark_is_not_a_change() -> None:
    board = PresenceBoard()
    board.apply(7, "a:1", agent_id=2, state="viewing", now=0)
    assert board.apply(7, "a:1", agent_id=2, state="viewing", now=5) is False
    assert board.apply(7, "a:9", agent_id=2, state="viewing", now=5) is False  # a second tab of the same agent
    assert board.apply(8, "a:1", agent_id=2, state=None, now=5) is False  # leaving a ticket never joined


def test_marks_not_announced_again_expire() -> None:
    board = PresenceBoard()
    board.apply(7, "a:1", agent_id=1, state="viewing", now=0)
    board.apply(7, "b:1", agent_id=2, state="viewing", now=0)
    board.apply(8, "b:2", agent_id=2, state="replying", now=0)
    board.apply(7, "a:1", agent_id=1, state="viewing", now=50)  # refreshed
    assert board.expire(seen_before=30) == [7, 8]
    assert board.on_ticket(7) == [{"agent_id": 1, "state": "viewing"}]
    assert board.on_ticket(8) == []
    assert board.expire(seen_before=30) == []
