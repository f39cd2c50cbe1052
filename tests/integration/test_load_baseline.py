"""The baseline loop really consumes, decodes and validates what is on the broker."""

import asyncio
import io
import struct
from collections.abc import Callable

import fastavro
from confluent_kafka import Producer
from pydantic import BaseModel

from keel.load.baseline import BaselineSpec, run_baseline
from tests.support.cluster import Cluster
from tests.support.topics import unique_name

_SCHEMA = {
    "type": "record",
    "name": "Tick",
    "namespace": "keel.test",
    "fields": [{"name": "n", "type": "long"}, {"name": "key", "type": "string"}],
}


class Tick(BaseModel):
    n: int
    key: str


def _framed(record: dict[str, object]) -> bytes:
    body = io.BytesIO()
    body.write(struct.pack(">bI", 0, 1))
    fastavro.schemaless_writer(body, fastavro.parse_schema(_SCHEMA), record)
    return body.getvalue()


def test_baseline_runs_every_record_in_partition_order(
    cluster: Cluster, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("baseline", partitions=3)
    # Idempotent: a plain producer may reorder a partition's batches when it retries one (the
    # new topic's leader is not always known yet), and this test checks the consumer's order.
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap_servers, "enable.idempotence": True}
    )
    for n in range(600):
        key = f"k{n % 7}"
        producer.produce(topic, key=key, value=_framed({"n": n, "key": key}))
    assert producer.flush(30) == 0
    seen: list[Tick] = []

    async def handler(job: BaseModel) -> None:
        assert isinstance(job, Tick)
        seen.append(job)
        await asyncio.sleep(0)

    result = run_baseline(
        cluster.settings(),
        unique_name("base"),
        BaselineSpec(topic, _SCHEMA, Tick, handler, expected=600),
    )

    assert result.jobs == 600
    assert result.per_s > 0
    assert sorted(t.n for t in seen) == list(range(600))
    for key in {t.key for t in seen}:
        per_key = [t.n for t in seen if t.key == key]
        assert per_key == sorted(per_key)
