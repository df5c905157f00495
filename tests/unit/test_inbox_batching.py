"""How the poller sizes its transactions and splits off repeated Message-IDs."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.inbox.batching import FIRST_MAILS, MAX_MAILS, TARGET_S, next_transaction_size, up_to_first_repeat


def test_a_fast_transaction_grows_the_next_one_by_at_most_four_times() -> None:
    assert next_transaction_size(FIRST_MAILS, 0.001) == 4 * FIRST_MAILS
    assert next_transaction_size(10, 0.0) == 40


def test_the_next_transaction_aims_at_the_target_time() -> None:
    # 20 mails took twice the target: the next one gets half as many.
    assert next_transaction_size(20, 2 * TARGET_S) == 10
    assert next_transaction_size(20, TARGET_S) == 20


def test_sizes_stay_between_one_and_the_maximum() -> None:
    assert next_transaction_size(1, 100.0) == 1
    assert next_transaction_size(MAX_MAILS, 0.001) == MAX_MAILS
    assert next_transaction_size(0, 0.0) >= 1


def test_growing_from_the_first_size_reaches_the_maximum_in_a_few_steps() -> None:
    size, steps = FIRST_MAILS, 0
    while size < MAX_MAILS:
        size, steps = next_transaction_size(size, 0.001 * size), steps + 1
    assert steps <= 3


@dataclass(frozen=True)
class Mail:
    message_id: str


def test_up_to_first_repeat_stops_before_a_second_copy() -> None:
    mails = [Mail("a"), Mail("b"), Mail("a"), Mail("c")]
    assert up_to_first_repeat(mails) == mails[:2]
    assert up_to_first_repeat(mails[2:]) == mails[2:]
    assert up_to_first_repeat([]) == []
