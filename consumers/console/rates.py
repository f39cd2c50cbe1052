"""Live throughput and failure rate per job topic, from the topics' end offsets.

A job topic is one with a dead-letter topic beside it (`T` and `T.dlt`). Each sample sums the
end offsets of both; a rate is the difference between the newest sample and one taken up to
`WINDOW_S` earlier, divided by the time between them. So the numbers say how fast jobs are
published to `T` and how fast they are dead-lettered, whoever reads the page, and one more
reader costs two offset queries a poll, not a consumer.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass

from keel.consumers.console.offsets import end_offsets, topic_names
from keel.schemas import clients
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import DEAD_LETTER_SUFFIX

WINDOW_S = 10.0
KEPT = 64


@dataclass(frozen=True)
class Sample:
    """At monotonic time `at`, each job topic's (records published, records dead-lettered)."""

    at: float
    totals: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class TopicRate:
    """One job topic's rates over the window; None until two samples exist."""

    topic: str
    jobs: int
    dead_letters: int
    jobs_per_s: float | None
    dead_letters_per_s: float | None

    @property
    def failure_ratio(self) -> float | None:
        """Dead letters per published job over the window."""
        if not self.jobs_per_s or self.dead_letters_per_s is None:
            return None
        return self.dead_letters_per_s / self.jobs_per_s


def rates(older: Sample | None, newer: Sample) -> list[TopicRate]:
    """The rate of each topic of `newer` since `older` (pure: the sampler's arithmetic)."""
    span = None if older is None else newer.at - older.at
    found = []
    for topic, (jobs, failed) in sorted(newer.totals.items()):
        before = None if older is None or not span else older.totals.get(topic)
        if before is None or not span:
            found.append(TopicRate(topic, jobs, failed, None, None))
            continue
        per_s = (max(jobs - before[0], 0) / span, max(failed - before[1], 0) / span)
        found.append(TopicRate(topic, jobs, failed, *per_s))
    return found


class RateSampler:
    """Keeps recent samples; `current` takes one more and returns the rates over the window."""

    def __init__(self) -> None:
        self._samples: deque[Sample] = deque(maxlen=KEPT)
        self._lock = threading.Lock()

    def current(self, cluster: ClusterSettings, timeout: float) -> list[TopicRate]:
        newer = take_sample(cluster, timeout)
        with self._lock:
            self._samples.append(newer)
            older = self._oldest_within(newer.at - WINDOW_S, newer)
        return rates(older, newer)

    def _oldest_within(self, since: float, newer: Sample) -> Sample | None:
        recent = [s for s in self._samples if s.at >= since and s is not newer]
        if recent:
            return recent[0]
        earlier = [s for s in self._samples if s is not newer]
        return earlier[-1] if earlier else None


def take_sample(cluster: ClusterSettings, timeout: float) -> Sample:
    """Every job topic's end offsets, summed over its partitions, with its dead-letter topic's."""
    admin = clients.admin(cluster)
    shown = topic_names(admin, timeout)
    jobs = sorted(t for t in shown if f"{t}{DEAD_LETTER_SUFFIX}" in shown)
    partitions = [
        (t, p) for topic in jobs for t in (topic, topic + DEAD_LETTER_SUFFIX) for p in shown[t]
    ]
    ends = end_offsets(admin, partitions, timeout)
    at = time.monotonic()

    def total(topic: str) -> int:
        return sum(ends.get((topic, p), 0) for p in shown[topic])

    return Sample(at, {t: (total(t), total(t + DEAD_LETTER_SUFFIX)) for t in jobs})
