"""Poison records, retries and fatal errors, against the real broker and registry."""

import asyncio
import random
import struct
import time
import uuid
from collections import Counter
from collections.abc import Callable

import httpx
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic
from prometheus_client.parser import text_string_to_metric_families

from keel.consumers import App, Context, Retry, RetryPolicy
from keel.schemas.demo import SendEmail
from keel.schemas.topics import dead_letter_topic
from tests.support.cluster import Cluster
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

KEY = b"poisoned-key"
COMMIT_INTERVAL = 0.05


def framed(schema_id: int, body: bytes) -> bytes:
    return struct.pack(">bI", 0, schema_id) + body


async def test_poison_is_dead_lettered_with_its_bytes_and_good_jobs_behind_it_flow(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given six kinds of poison on one partition, each followed by a good job of the same key
    topic = new_topic("poison", partitions=1)
    producer = JobProducer(cluster, topic)
    good, _key = email(1, 0)
    valid = producer._codec.encode(good, topic)  # registers the schema
    schema_id = struct.unpack(">I", valid[1:5])[0]
    poisons = {
        "random bytes": (random.Random(5).randbytes(200), KEY),
        "truncated Avro": (valid[: len(valid) // 2], KEY),
        "unknown schema id": (framed(987_654, valid[5:]), KEY),
        "wrong magic byte": (b"\x01" + valid[1:], KEY),
        "missing key": (valid, None),
        "1 MB value": (framed(schema_id, random.Random(6).randbytes(1_000_000)), KEY),
    }
    for n, (value, key) in enumerate(poisons.values()):
        producer.send_raw(value, key, "keel.jobs.SendEmail")
        job, _ = email(7, n)
        producer.send(job, KEY)
    producer.close()
    app = App(f"poison-{topic}")
    handled: list[int] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        handled.append(seq_of(job)[1])

    # When a worker that does not quarantine keys consumes the partition (with quarantine, the
    # good jobs would be parked behind the poison: tests/integration/test_key_quarantine.py)
    settings = worker_settings(cluster, [topic], quarantine_keys=False)
    async with running(app, settings) as worker:
        await wait_for(lambda: len(handled) == 6, 60, "the good jobs")
        await wait_for(lambda: committed(cluster, app.name, topic, 1)[0] == 12, 30, "commit")
        assert worker.live().ok

    # Then each poison record sits in the dead-letter topic, bytes untouched, headers complete
    assert handled == list(range(6))
    letters = read_all(cluster, dead_letter_topic(topic), 6)
    # (the keyless one has no lane to wait in, so it may be written first)
    letters.sort(key=lambda r: int(r.headers["keel-dlt-origin-offset"]))
    assert [(r.value, r.key) for r in letters] == list(poisons.values())
    reasons = [r.headers["keel-dlt-reason"] for r in letters]
    assert reasons[1:] == [
        "truncated",
        "unknown-schema-id",
        "wrong-magic-byte",
        "missing-key",
        "truncated",
    ]
    assert reasons[0] in {"wrong-magic-byte", "unknown-schema-id", "truncated"}
    for index, letter in enumerate(letters):
        assert letter.headers["keel-dlt-origin-topic"] == topic
        assert letter.headers["keel-dlt-origin-partition"] == "0"
        assert letter.headers["keel-dlt-origin-offset"] == str(2 * index)
        assert int(letter.headers["keel-dlt-origin-timestamp"]) > 0
        assert letter.headers["keel-dlt-group"] == app.name
        assert letter.headers["keel-dlt-job-type"] == "keel.jobs.SendEmail"
        assert letter.headers["keel-dlt-error-class"]
        assert letter.headers["keel-dlt-error-message"]
        assert int(letter.headers["keel-dlt-last-failure"]) >= int(
            letter.headers["keel-dlt-first-failure"]
        )
        assert uuid.UUID(letter.headers["keel-job-id"])  # the original headers travel along


async def test_retries_succeed_on_attempt_three_exhaust_at_max_attempts_and_skip_fatal(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    # Given three keys: one that fails twice, one that always fails, one with a fatal error
    topic = new_topic("retries", partitions=2)
    producer = JobProducer(cluster, topic)
    producer.send_all([email(1, 0), email(2, 0), email(3, 0), email(4, 0)])
    producer.close()
    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, fatal=(KeyError,))
    app = App(f"retries-{topic}", retry=policy)
    calls: Counter[str] = Counter()
    succeeded: dict[str, int] = {}

    @app.handler(SendEmail)
    def handle(job: SendEmail, ctx: Context) -> None:  # sync: runs in the thread pool
        key = seq_of(job)[0]
        calls[key] += 1
        if key == "1" and ctx.attempt < 3:
            raise Retry(after=0.01)
        if key == "2":
            raise ConnectionError("smtp down")
        if key == "3":
            raise KeyError("template")
        succeeded[key] = ctx.attempt

    # When a worker runs them
    async with running(app, worker_settings(cluster, [topic])):
        ends = end_offsets(cluster, topic, 2)
        await wait_for(lambda: committed(cluster, app.name, topic, 2) == ends, 30, "commits")

    # Then: success on attempt 3; dead-lettered after exactly 4 attempts; fatal after one
    assert succeeded == {"1": 3, "4": 1}
    assert calls == {"1": 3, "2": 4, "3": 1, "4": 1}
    letters = read_all(cluster, dead_letter_topic(topic), 2)
    by_class = {r.headers["keel-dlt-error-class"]: r.headers for r in letters}
    assert set(by_class) == {"builtins.ConnectionError", "builtins.KeyError"}
    exhausted = by_class["builtins.ConnectionError"]
    assert exhausted["keel-dlt-reason"] == "retries-exhausted"
    assert exhausted["keel-dlt-attempts"] == "4"
    assert "smtp down" in exhausted["keel-dlt-traceback"]
    fatal = by_class["builtins.KeyError"]
    assert (fatal["keel-dlt-reason"], fatal["keel-dlt-attempts"]) == ("fatal-error", "1")


async def test_an_unwritable_dead_letter_topic_holds_the_partition_until_it_is_fixed(
    cluster: Cluster, new_topic: Callable[..., str], admin: AdminClient
) -> None:
    # Given a dead-letter topic that refuses every record (max.message.bytes too small)
    topic = new_topic("dltblocked", partitions=1)
    dlt = dead_letter_topic(topic)
    created = admin.create_topics(
        [NewTopic(dlt, num_partitions=1, config={"max.message.bytes": "200"})]
    )
    created[dlt].result(timeout=30)
    producer = JobProducer(cluster, topic)
    producer.send_raw(b"\x07 not a job", KEY)
    producer.send_all([email(n, 1) for n in range(20)])
    producer.close()
    app = App(f"dltblocked-{topic}")
    handled: list[str] = []

    @app.handler(SendEmail)
    async def handle(job: SendEmail, ctx: Context) -> None:
        handled.append(seq_of(job)[0])

    settings = worker_settings(
        cluster, [topic], dead_letter_retry_max=0.5, commit_interval=COMMIT_INTERVAL
    )
    async with running(app, settings) as worker, httpx.AsyncClient() as http:
        health = f"http://127.0.0.1:{worker.health.port}"
        # When the poison record cannot be dead-lettered, the jobs behind it still run,
        await wait_for(lambda: len(handled) == 20, 30, "the good jobs")
        # but the partition's commit stays at the poison record, commit after commit
        await wait_for(lambda: committed(cluster, app.name, topic, 1)[0] == 0, 10, "commit")
        assert await commits_seen(cluster, app.name, topic, 1.0) == {0}
        # and readiness and the metric say which partition, over HTTP
        ready = await http.get(f"{health}/readyz")
        assert ready.status_code == 503
        assert f"{topic}/0" in ready.json()["dead_letter_blocked"]
        assert blocked_gauge((await http.get(f"{health}/metrics")).text) == 1
        # Then once the topic takes records, the write goes through and the commit moves on
        fix = ConfigResource(
            ResourceType.TOPIC,
            dlt,
            incremental_configs=[
                ConfigEntry(
                    "max.message.bytes",
                    "1048588",
                    incremental_operation=AlterConfigOpType.SET,
                )
            ],
        )
        admin.incremental_alter_configs([fix])[fix].result(timeout=30)
        await wait_for(lambda: committed(cluster, app.name, topic, 1)[0] == 21, 30, "commit")
        await wait_for(lambda: worker.ready().ok, 10, "readiness to recover")
        assert (await http.get(f"{health}/readyz")).status_code == 200
        assert blocked_gauge((await http.get(f"{health}/metrics")).text) == 0
    # And the dead-letter topic holds the poison record once, up to its end offset
    assert end_offsets(cluster, dlt, 1) == {0: 1}
    [letter] = read_all(cluster, dlt, 1)
    assert (letter.value, letter.key) == (b"\x07 not a job", KEY)


async def commits_seen(cluster: Cluster, group: str, topic: str, seconds: float) -> set[int]:
    """Every committed offset of partition 0 read over `seconds`, several commit intervals."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(committed(cluster, group, topic, 1)[0])
        await asyncio.sleep(COMMIT_INTERVAL / 4)
    return seen


def blocked_gauge(metrics: str) -> float:
    [family] = [
        f
        for f in text_string_to_metric_families(metrics)
        if f.name == "keel_dead_letter_blocked_partitions"
    ]
    [sample] = family.samples
    return sample.value
