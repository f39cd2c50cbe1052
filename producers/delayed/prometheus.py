"""`/metrics` of a dispatcher in the Prometheus text format, rendered by prometheus_client.

Read from the dispatcher's status on request, so a scrape costs nothing between scrapes:

    keel_dispatcher_jobs_total        {outcome}  released, refiled, cancelled, expired
    keel_dispatcher_transactions_total           transactions committed
    keel_dispatcher_lateness_seconds (histogram) a released job's release time minus its due time
    keel_dispatcher_leader                       1 while this process leads (its term is open)
    keel_dispatcher_pending_records   {tier}     records of the tier not yet settled (leader only)
"""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from keel.producers.delayed.status import LATENESS_BOUNDS_S, DispatcherStatus, Lateness

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTCOMES = ("released", "refiled", "cancelled", "expired")


class DispatcherMetricsView:
    """A prometheus_client collector over a dispatcher's status, in a registry of its own."""

    def __init__(self, status: DispatcherStatus) -> None:
        self._status = status
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def render(self) -> str:
        return generate_latest(self._registry).decode()

    def collect(self) -> Iterator[Metric]:
        status, counts = self._status, self._status.counts
        jobs = CounterMetricFamily(
            "keel_dispatcher_jobs",
            "Delayed jobs settled in committed transactions, by what became of them.",
            labels=["outcome"],
        )
        outcomes = dict(counts.outcomes)
        for outcome in OUTCOMES:
            jobs.add_metric([outcome], outcomes.get(outcome, 0))
        yield jobs
        yield CounterMetricFamily(
            "keel_dispatcher_transactions",
            "Transactions the dispatcher committed.",
            value=counts.transactions,
        )
        yield _lateness(counts.lateness)
        yield GaugeMetricFamily(
            "keel_dispatcher_leader",
            "1 while this process leads and releases, 0 while it stands by.",
            value=1 if status.leading and status.term_open else 0,
        )
        pending = GaugeMetricFamily(
            "keel_dispatcher_pending_records",
            "Records of the tier not yet settled (end offset minus the dispatcher's position).",
            labels=["tier"],
        )
        for tier, n in sorted(dict(status.pending).items()):
            pending.add_metric([str(tier)], n)
        yield pending

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: the names are fixed above


def _lateness(lateness: Lateness) -> Metric:
    family = HistogramMetricFamily(
        "keel_dispatcher_lateness_seconds",
        "How long after its due time a released job was released.",
    )
    cumulative, buckets = 0, []
    for bound, n in zip((*LATENESS_BOUNDS_S, float("inf")), list(lateness.buckets), strict=True):
        cumulative += n
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    family.add_metric([], buckets, lateness.total_s)
    return family
