"""Replaying what the dead-letter list shows: first counted (the confirmation), then sent.

Both steps go through `keel.consumers.dead_letters.api.replay`, topic by topic: the count is
its dry run, the replay the real one, paced at the console's rate and with the operator's
token name on each ledger entry. A letter replayed before is never sent again, so a
confirmation clicked twice replays nothing the second time.
"""

from dataclasses import dataclass

from keel.consumers.console.filters import Query
from keel.consumers.console.letters import dead_letter_topics
from keel.consumers.dead_letters import api
from keel.consumers.dead_letters.replay import ReplayReport
from keel.schemas.settings import ClusterSettings


@dataclass(frozen=True)
class Outcome:
    """What a replay did (or, dry, would do), added up over the topics it read."""

    replayed: int
    already_replayed: int
    topics: tuple[str, ...]
    dry_run: bool


def count(cluster: ClusterSettings, query: Query, timeout: float) -> Outcome:
    """How many letters a replay of `query` would send now; sends nothing."""
    return _run(cluster, query, timeout, dry_run=True, rate=None, actor=None)


def replay(
    cluster: ClusterSettings, query: Query, timeout: float, *, rate: float, actor: str
) -> Outcome:
    """Replay the letters `query` selects, at most `rate` a second, on behalf of `actor`."""
    return _run(cluster, query, timeout, dry_run=False, rate=rate, actor=actor)


def _run(
    cluster: ClusterSettings,
    query: Query,
    timeout: float,
    *,
    dry_run: bool,
    rate: float | None,
    actor: str | None,
) -> Outcome:
    topics = [query.topic] if query.topic else dead_letter_topics(cluster, timeout)
    reports: list[ReplayReport] = [
        api.replay(
            topic,
            selection=query.selection,
            rate=rate,
            dry_run=dry_run,
            cluster=cluster,
            actor=actor,
        )
        for topic in topics
    ]
    return Outcome(
        sum(report.replayed for report in reports),
        sum(report.already_replayed for report in reports),
        tuple(topics),
        dry_run,
    )
