"""The outcome of a batch: every delivery in order, or one error that counts the failures."""

import pytest

from keel.producers.delivery import Delivery, Outcome, all_delivered
from keel.producers.errors import PublishError, PublishTimeoutError


def test_every_delivery_in_the_order_given() -> None:
    outcomes: list[Outcome] = [Delivery("b", "t", 1, 7), Delivery("a", "t", 0, 3)]

    assert all_delivered(outcomes) == outcomes


def test_failures_are_counted_and_the_first_is_quoted() -> None:
    outcomes: list[Outcome] = [
        Delivery("a", "t", 0, 3),
        PublishTimeoutError("not acknowledged", "b"),
        PublishError("refused", "c"),
    ]

    with pytest.raises(PublishTimeoutError, match=r"2 of 3 job\(s\).*first: not ack") as caught:
        all_delivered(outcomes)
    assert caught.value.job_id == "b"
