"""The numbered stream and its replay buffer decide between replay and resync exactly."""

import itertools

import pytest

from helpdesk.live.stream import EventStream


def _stream(capacity: int) -> EventStream[str]:
    epochs = (f"e{n}" for n in itertools.count(1))
    return EventStream(capacity, epoch_factory=lambda: next(epochs))


def _add(stream: EventStream[str], count: int) -> None:
    for _ in range(count):
        stream.append(lambda seq: f"item {seq}")


def test_numbers_start_at_one_and_increase_by_one() -> None:
    stream = _stream(10)
    assert stream.head == 0
    assert [stream.append(lambda seq: seq) for _ in range(3)] == [1, 2, 3]
    assert stream.head == 3


def test_replays_everything_after_since_while_it_is_kept() -> None:
    stream = _stream(3)
    _add(stream, 5)  # keeps 3, 4, 5
    assert stream.after("e1", 5) == []
    assert stream.after("e1", 4) == ["item 5"]
    assert stream.after("e1", 2) == ["item 3", "item 4", "item 5"]


@pytest.mark.parametrize(("epoch", "since"), [("e1", 1), ("e1", 0), ("e1", 6), ("e1", -1), ("other", 4), (None, 4)])
def test_answers_none_when_the_gap_cannot_be_filled(epoch: str | None, since: int) -> None:
    stream = _stream(3)
    _add(stream, 5)
    assert stream.after(epoch, since) is None


def test_an_empty_stream_has_nothing_to_replay_from_zero() -> None:
    stream = _stream(3)
    assert stream.after("e1", 0) == []


def test_restart_begins_a_new_epoch_and_forgets_the_old_numbers() -> None:
    stream = _stream(3)
    _add(stream, 2)
    stream.restart()
    assert (stream.epoch, stream.head) == ("e2", 0)
    assert stream.after("e1", 2) is None
    _add(stream, 1)
    assert stream.after("e2", 0) == ["item 1"]
