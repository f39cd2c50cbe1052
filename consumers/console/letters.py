"""One page of dead letters, read without decoding (or even reading) the rest of the topic.

Unfiltered, a page is found from the partitions' offsets alone: page `n` of size `s` starts at
the `n*s`-th offset counted across the dead-letter topics (by name), their partitions and
offsets, and only the page's records are fetched. Filtered, the topics are streamed through
`keel.consumers.dead_letters.reader` (headers only: a letter's body is never decoded here) and
the stream stops as soon as the page, and one more match to know a next page exists, is found.
"""

import time
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import Consumer, TopicPartition

from keel.consumers.console.filters import LetterFilter, Query
from keel.consumers.console.offsets import Span, spans, topic_names
from keel.consumers.dead_letters.api import Listed
from keel.consumers.dead_letters.ledger import LEDGER_SUFFIX, ReplayLedger
from keel.consumers.dead_letters.reader import Letter, stream_letters
from keel.consumers.dead_letters.replay import dead_letter_name
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import DEAD_LETTER_SUFFIX

GROUP = "keel-console"  # required by librdkafka; the console never joins it or commits


@dataclass(frozen=True)
class Page:
    """The letters of page `number` (from 0), and whether a next page has any."""

    letters: list[Listed]
    number: int
    has_next: bool
    total: int | None  # the offsets the topics span, when no filter is set (an upper bound)


def dead_letter_topics(cluster: ClusterSettings, timeout: float) -> list[str]:
    """Every dead-letter topic the cluster shows this client, by name."""
    names = topic_names(clients.admin(cluster), timeout)
    return sorted(name for name in names if name.endswith(DEAD_LETTER_SUFFIX))


def page(cluster: ClusterSettings, query: Query, number: int, size: int, timeout: float) -> Page:
    """Page `number` of the letters `query` selects."""
    topics = (
        [dead_letter_name(query.topic)] if query.topic else dead_letter_topics(cluster, timeout)
    )
    if query.selection.reads_everything:
        found, has_next, total = _by_offsets(cluster, topics, number, size, timeout)
    else:
        found, has_next = _by_streaming(cluster, topics, query.selection, number, size)
        total = None
    return Page(_with_ledger(cluster, found), number, has_next, total)


def _by_offsets(
    cluster: ClusterSettings, topics: list[str], number: int, size: int, timeout: float
) -> tuple[list[Letter], bool, int]:
    admin = clients.admin(cluster)
    shown = topic_names(admin, timeout)
    found_spans = spans(admin, {t: shown[t] for t in topics if t in shown}, timeout)
    total = sum(span.size for span in found_spans)
    wanted = list(_window(found_spans, number * size, size))
    letters = _fetch(cluster, wanted, timeout) if wanted else []
    return letters, (number + 1) * size < total, total


def _window(found: list[Span], skip: int, count: int) -> Iterator[Span]:
    """The parts of `found` that hold offsets `skip` to `skip + count`, counted across them."""
    for span in found:
        if count <= 0:
            return
        if skip >= span.size:
            skip -= span.size
            continue
        start = span.start + skip
        end = min(span.end, start + count)
        skip = 0
        count -= end - start
        yield Span(span.topic, span.partition, start, end)


def _fetch(cluster: ClusterSettings, wanted: list[Span], timeout: float) -> list[Letter]:
    consumer = clients.consumer(cluster, GROUP, {"enable.auto.commit": False})
    try:
        return [letter for span in wanted for letter in _read_span(consumer, span, timeout)]
    finally:
        consumer.close()


def _read_span(consumer: Consumer, span: Span, timeout: float) -> list[Letter]:
    tp = TopicPartition(span.topic, span.partition)
    consumer.assign([TopicPartition(span.topic, span.partition, span.start)])
    found: list[Letter] = []
    deadline = time.monotonic() + timeout
    position = span.start
    while position < span.end and time.monotonic() < deadline:
        for message in consumer.consume(span.end - position, 0.2):
            if message.error() is None and (message.offset() or 0) < span.end:
                found.append(_letter(message))
        [at] = consumer.position([tp])
        position = max(position, at.offset)
    consumer.unassign()
    return found


def _letter(message: Any) -> Letter:  # noqa: ANN401 - a confluent_kafka Message
    return Letter(
        message.topic(),
        message.partition(),
        message.offset(),
        message.key(),
        message.value(),
        tuple(message.headers() or ()),
    )


def _by_streaming(
    cluster: ClusterSettings, topics: list[str], chosen: LetterFilter, number: int, size: int
) -> tuple[list[Letter], bool]:
    skip = number * size
    found: list[Letter] = []
    for topic in topics:
        streamed = cast(Generator[Letter, None, None], stream_letters(cluster, topic))
        with closing(streamed) as letters:
            for letter in letters:
                if not chosen(letter):
                    continue
                if skip:
                    skip -= 1
                    continue
                if len(found) == size:
                    return found, True
                found.append(letter)
    return found, False


def _with_ledger(cluster: ClusterSettings, letters: list[Letter]) -> list[Listed]:
    ledgers = {
        topic: ReplayLedger.read(cluster, topic)
        for topic in {letter.topic for letter in letters}
        if not topic.endswith(LEDGER_SUFFIX)
    }
    return [
        Listed(letter, letter in ledgers.get(letter.topic, ReplayLedger())) for letter in letters
    ]
