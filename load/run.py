"""`keel load run`: one run from topic creation to verdict.

create topic (+ dead-letter topic)
live round      workers run while the open-loop producer sends; faults; drain; oracle
replay rounds   keel (fresh group) and the baseline loop, interleaved, on the same records;
                with `status_cost`, keel with job status too, first in every other round
summary         medians, ratio, latency, oracle, resources -> summary.json, report.md, PNGs
delete topics   the run's topics and groups, unless --keep-topics (see `keel.load.topics`)
"""

import platform
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from confluent_kafka import libversion

from keel._version import __version__
from keel.load.config import RunConfig
from keel.load.oracle import Verdict
from keel.load.report import Rate, RunSummary
from keel.load.rounds import NoProgress, Progress, Topic, baseline_replay, keel_replay, live_round
from keel.load.topics import run_topic
from keel.schemas.settings import ClusterSettings


def run_load(
    config: RunConfig,
    cluster: ClusterSettings,
    out: Path,
    *,
    progress: Progress | None = None,
    restart_broker: Callable[[], None] | None = None,
) -> RunSummary:
    progress = progress or NoProgress()
    with run_topic(cluster, config) as topic:
        return _rounds(config, cluster, topic, out, progress=progress, restart=restart_broker)


def _rounds(
    config: RunConfig,
    cluster: ClusterSettings,
    topic: Topic,
    out: Path,
    *,
    progress: Progress,
    restart: Callable[[], None] | None,
) -> RunSummary:
    live = live_round(config, cluster, topic, out, progress=progress, restart_broker=restart)
    keel_rates: list[Rate] = []
    status_rates: list[Rate] = []  # with `status_cost`: keel's rounds with job status
    baseline_rates, verdicts = [], [live.verdict]
    good = sum(1 for job in live.sent if not job.poison)
    for round_number in range(1, config.rounds + 1):
        for status in _statuses(config, round_number):
            named = "keel with status" if status else "keel"
            progress.phase(f"replay round {round_number}/{config.rounds}: {named}")
            with_status = replace(config, status=status)
            rate, verdict = keel_replay(with_status, cluster, topic, out, live.sent)
            (status_rates if status and config.status_cost else keel_rates).append(rate)
            verdicts.append(verdict)
        if config.baseline_possible:
            jobs = min(good, config.baseline_jobs or good)
            progress.phase(f"replay round {round_number}/{config.rounds}: baseline")
            baseline_rates.append(baseline_replay(config, cluster, topic, out, jobs))
    return RunSummary(
        scenario=config.scenario,
        config=_describe(config, topic),
        versions=_versions(),
        keel=_median(keel_rates) if keel_rates else live.rate,
        keel_status=_median(status_rates) if status_rates else None,
        baseline=_median(baseline_rates) if baseline_rates else None,
        latency=live.latency.summary(),
        verdict=_combined(verdicts),
        resources=live.resources,
        timeline=live.timeline,
        startup=live.startup,
        faults=live.faults,
    )


def _statuses(config: RunConfig, round_number: int) -> tuple[bool, ...]:
    """Whether each keel replay of a round records status: both, alternated, for the cost."""
    if not config.status_cost:
        return (config.status,)
    return (False, True) if round_number % 2 else (True, False)


def _median(rates: list[Rate]) -> Rate:
    """The round with the median rate (a real round, not an average of rounds)."""
    ordered = sorted(rates, key=lambda r: r.per_s)
    return ordered[(len(ordered) - 1) // 2]


def _combined(verdicts: list[Verdict]) -> Verdict:
    """The live verdict, with the failures and the breaks of any replay round added to it."""
    live, replays = verdicts[0], verdicts[1:]
    examples = dict(live.examples)
    for replay in replays:
        for name, ids in replay.examples.items():
            examples.setdefault(f"replay_{name}", ids)
    return replace(
        live,
        examples=examples,
        **{name: getattr(live, name) + sum(getattr(r, name) for r in replays) for name in _ADDED},
    )


# Counts where a replay round can find a failure of its own; the rest describe the live round.
_ADDED = (
    "lost",
    "order_violations",
    "runs_out_of_order",
    "runs_out_of_order_across_workers",
    "overlaps",
    "overlaps_across_workers",
    "poison_missing",
    "unexpected_dead_letters",
)


def _describe(config: RunConfig, topic: Topic) -> dict[str, object]:
    described = {k: v for k, v in vars(config).items() if k != "extra"}
    described["fault"] = str(config.fault) if config.fault else None
    described["skew"] = str(config.skew)
    return described | {"topic": topic.name, "rounds_statistic": "median"}


def _versions() -> dict[str, str]:
    return {
        "keel": __version__,
        "python": platform.python_version(),
        "confluent_kafka": metadata.version("confluent-kafka"),
        "librdkafka": libversion()[0],
    }
