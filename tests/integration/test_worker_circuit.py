"""Poison versus outage on the real broker: an outage holds its job type, poison is set aside."""

import time
from collections import Counter
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers import App, Context, Retry, RetryPolicy
from keel.schemas.demo import GenerateReport, SendEmail
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
from tests.support.jobs import generate_report
from tests.support.sample import email, seq_of
from tests.support.worker import (
    JobProducer,
    committed,
    end_offsets,
    read_all,
    running,
    wait_for,
    worker_settings,
)

EMAIL = "keel.jobs.SendEmail"
OUTAGE = 10.0  # seconds the mail relay stays down, from the first attempt
KEYS = 12
PER_KEY = 5
REPORTS = 10
PARTITIONS = 3


def metric(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with `labels` in a Prometheus text page (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def test_a_ten_second_outage_dead_letters_nothing_and_every_job_runs_after_it(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given 60 emails of 12 keys and a mail relay that is down for 10 s from the first
    # attempt: for half the keys the handler raises Retry, for the others ConnectionError
    topic = new_topic("outage", partitions=PARTITIONS)
    producer = JobProducer(cluster, topic)
    for seq in range(PER_KEY):
        producer.send_all([email(key, seq) for key in range(KEYS)])
    app = App(f"outage-{topic}")  # default retry policy (5 attempts) and default circuit
    down_until: list[float] = []
    attempts: Counter[tuple[str, int]] = Counter()
    sent: list[tuple[str, int]] = []
    reports_done: list[float] = []

    @app.handler(SendEmail)
    async def send(job: SendEmail, ctx: Context) -> None:
        if not down_until:
            down_until.append(time.monotonic() + OUTAGE)
        key, seq = seq_of(job)
        attempts[key, seq] = max(attempts[key, seq], ctx.attempt)
        if time.monotonic() < down_until[0]:
            if int(key) % 2:
                raise Retry(reason="relay busy")
            raise ConnectionError("relay unreachable")
        sent.append((key, seq))

    @app.handler(GenerateReport)
    async def report(job: GenerateReport, ctx: Context) -> None:
        reports_done.append(time.monotonic())

    settings = worker_settings(cluster, [topic], commit_interval=0.2)
    async with running(app, settings) as worker, httpx.AsyncClient() as http:
        metrics_url = f"http://127.0.0.1:{worker.health.port}/metrics"
        # When the failures open the circuit of SendEmail, its jobs are held
        await wait_for(lambda: worker.engine.circuits()[EMAIL].state != "closed", 30, "opening")
        await wait_for(lambda: worker.engine.circuits()[EMAIL].held >= 3, 30, "held jobs")
        page = (await http.get(metrics_url)).text
        assert metric(page, "keel_circuit_held_jobs", job_type=EMAIL) >= 3
        assert metric(page, "keel_circuit_transitions_total", job_type=EMAIL, state="open") >= 1
        # while reports, another type published now, all run during the outage
        producer.send_all([(generate_report(), None) for _ in range(REPORTS)])
        producer.close()
        await wait_for(lambda: len(reports_done) == REPORTS, 30, "the reports")
        assert max(reports_done) < down_until[0]
        # and after the relay is back, a probe closes it and every email is sent
        await wait_for(lambda: len(sent) == KEYS * PER_KEY, OUTAGE + 60, "every email")
        ends = end_offsets(cluster, topic, PARTITIONS)
        await wait_for(
            lambda: committed(cluster, app.name, topic, PARTITIONS) == ends, 30, "commit"
        )
        page = (await http.get(metrics_url)).text
        assert metric(page, "keel_circuit_state", job_type=EMAIL, state="closed") == 1
        assert metric(page, "keel_circuit_transitions_total", job_type=EMAIL, state="closed") >= 1
        assert metric(page, "keel_jobs_dead_lettered_total", job_type=EMAIL) == 0

    # Then nothing was dead-lettered, each email was sent once, in order within its key,
    assert end_offsets(cluster, dead_letter_topic(topic), PARTITIONS) == dict.fromkeys(
        range(PARTITIONS), 0
    )
    assert sorted(sent) == sorted({(str(k), s) for k in range(KEYS) for s in range(PER_KEY)})
    for key in range(KEYS):
        assert [s for k, s in sent if k == str(key)] == list(range(PER_KEY))
    # and no email used up its attempts: failures while the circuit was open cost none
    assert max(attempts.values()) < RetryPolicy().max_attempts


async def test_one_bad_job_among_good_ones_is_dead_lettered_and_the_circuit_stays_closed(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given 48 good emails and one whose handler always fails with a retryable error
    topic = new_topic("poisonjob", partitions=PARTITIONS)
    producer = JobProducer(cluster, topic)
    producer.send_all([email(key, seq) for seq in range(4) for key in range(KEYS)])
    producer.send_all([email(99, 0)])
    producer.close()
    policy = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2)
    app = App(f"poisonjob-{topic}", retry=policy)
    sent: list[tuple[str, int]] = []

    @app.handler(SendEmail)
    async def send(job: SendEmail, ctx: Context) -> None:
        if seq_of(job)[0] == "99":
            raise ConnectionError("mailbox 99 does not exist, the relay says, every time")
        sent.append(seq_of(job))

    # When a worker runs them
    async with running(app, worker_settings(cluster, [topic])) as worker:
        ends = end_offsets(cluster, topic, PARTITIONS)
        await wait_for(
            lambda: committed(cluster, app.name, topic, PARTITIONS) == ends, 60, "commit"
        )
        circuit = worker.engine.circuits()[EMAIL]

    # Then the bad job is dead-lettered after its 5 attempts, the good ones ran, and the
    # circuit never opened
    [letter] = read_all(cluster, dead_letter_topic(topic), 1)
    assert letter.headers["keel-dlt-reason"] == "retries-exhausted"
    assert letter.headers["keel-dlt-attempts"] == "5"
    assert len(sent) == KEYS * 4
    assert (circuit.state, circuit.transitions, circuit.held) == ("closed", {}, 0)
