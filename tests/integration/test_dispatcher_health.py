"""A dispatcher's /livez, /readyz and /metrics, read from real `keel dispatcher run` processes:
the leader counts what it released and how late, the standby releases nothing and says so."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keel.deploy.local.ports import pick_free_ports
from keel.producers import Publisher
from keel.producers.delayed.loop import ensure_delayed_topics
from keel.producers.settings import ProducerSettings, Route
from tests.support.cluster import Cluster
from tests.support.consume import read_records
from tests.support.dispatchers import DispatcherProcess
from tests.support.jobs import send_email
from tests.support.topics import unique_name
from tests.support.waiting import wait_until

_EMAIL = "keel.jobs.SendEmail"


class Endpoints:
    """One dispatcher process and its health port."""

    def __init__(self, process: DispatcherProcess, port: int) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"

    def status(self, path: str) -> int:
        try:
            return httpx.get(f"{self.base}{path}", timeout=5).status_code
        except httpx.TransportError:
            return 0  # not listening yet

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.base}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        raise AssertionError(f"{name} {labels} not in /metrics")


@pytest.fixture
def dispatchers(cluster: Cluster, tmp_path: Path) -> Iterator[Callable[[str], list[Endpoints]]]:
    started: list[Endpoints] = []

    def start(delayed: str) -> list[Endpoints]:
        for n, port in enumerate(pick_free_ports(2)):
            env = {"KEEL_DISPATCHER_HEALTH_PORT": str(port)}
            process = DispatcherProcess(cluster, delayed, tmp_path / f"{n}.log", env)
            started.append(Endpoints(process, port))
        return started

    yield start
    for endpoints in started:
        endpoints.process.stop()


def test_the_leader_counts_releases_and_lateness_the_standby_releases_nothing(
    cluster: Cluster,
    new_topic: Callable[..., str],
    dispatchers: Callable[[str], list[Endpoints]],
) -> None:
    # Given two dispatchers serving their endpoints, one of them leading
    topic, delayed = new_topic("health"), unique_name("delayed")
    settings = ProducerSettings(
        routes={_EMAIL: Route(topic=topic, partitions=1)}, delayed_topic=delayed
    )
    ensure_delayed_topics(cluster.settings(), settings)
    both = dispatchers(delayed)
    wait_until(lambda: all(e.status("/readyz") == 200 for e in both), 90, "both ready")
    wait_until(lambda: sum(e.metric("keel_dispatcher_leader") for e in both) == 1, 90, "one leader")
    [leader] = [e for e in both if e.metric("keel_dispatcher_leader") == 1]
    [standby] = [e for e in both if e is not leader]

    # When five jobs come due
    with Publisher(cluster.settings(), settings) as publisher:
        for n in range(5):
            publisher.publish(send_email(), f"user-{n}", delay=1)
    assert len(read_records(cluster.bootstrap_servers, topic, 5, timeout=60)) == 5

    # Then the leader counts five releases, each with its lateness; the standby none
    released = "keel_dispatcher_jobs_total"
    wait_until(
        lambda: leader.metric(released, outcome="released") == 5, 60, "five releases counted"
    )
    assert leader.metric("keel_dispatcher_lateness_seconds_count") == 5
    assert leader.metric("keel_dispatcher_lateness_seconds_bucket", le="+Inf") == 5
    assert standby.metric(released, outcome="released") == 0
    assert standby.metric("keel_dispatcher_leader") == 0
    assert {e.status("/livez") for e in both} == {200}
    assert {e.status("/readyz") for e in both} == {200}
