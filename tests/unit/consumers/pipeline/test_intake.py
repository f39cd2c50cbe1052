"""The poll thread takes a batch the moment a record arrives, and what else is queued with it."""

from keel.consumers.pipeline.intake import take_batch


class _Queue:
    """librdkafka's queue as the two calls see it: records, and how each call waited."""

    def __init__(self, queued: list[str]) -> None:
        self.queued = queued
        self.calls: list[tuple[str, int, float]] = []

    def poll(self, timeout: float) -> str | None:
        self.calls.append(("poll", 1, timeout))
        return self._take(1)[0] if self.queued else None

    def consume(self, num_messages: int, timeout: float) -> list[str]:
        self.calls.append(("consume", num_messages, timeout))
        return self._take(num_messages)

    def _take(self, count: int) -> list[str]:
        taken, self.queued = self.queued[:count], self.queued[count:]
        return taken


def test_the_first_record_is_waited_for_and_the_rest_taken_without_waiting() -> None:
    queue = _Queue(["a", "b", "c"])
    assert list(take_batch(queue, 500, 0.005)) == ["a", "b", "c"]
    # consume(n, timeout) would wait out its whole timeout for a batch that never fills
    assert queue.calls == [("poll", 1, 0.005), ("consume", 499, 0)]


def test_a_batch_never_holds_more_than_its_size() -> None:
    queue = _Queue([str(i) for i in range(10)])
    assert list(take_batch(queue, 4, 0.005)) == ["0", "1", "2", "3"]
    assert queue.queued == ["4", "5", "6", "7", "8", "9"]


def test_a_batch_of_one_is_one_poll() -> None:
    queue = _Queue(["a", "b"])
    assert list(take_batch(queue, 1, 0.005)) == ["a"]
    assert queue.calls == [("poll", 1, 0.005)]


def test_nothing_arriving_within_the_timeout_is_an_empty_batch() -> None:
    queue = _Queue([])
    assert list(take_batch(queue, 500, 0.005)) == []
    assert queue.calls == [("poll", 1, 0.005)]
