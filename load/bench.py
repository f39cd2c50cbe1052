"""The publish benchmark: typed jobs against raw confluent-kafka, same bytes, same settings.

Typed: build each `SendEmail` from plain values (pydantic validation), then `publish_nowait`
with a key (routing, key check, Avro encode, job id, headers, produce, delivery report checked),
and `flush()` at the end.

Raw: `Producer.produce` of the same records built beforehand: the same keys, the same Avro
values (encoded by the codec, so byte-identical), the same four keel headers, the same librdkafka
configuration as the publisher (idempotent, acks=all, lz4, linger) including a delivery-report
callback that checks every report for an error, and `flush()` at the end. This is what `ratio`
compares with: a hand-written producer that, like keel's, cannot lose a job without noticing.
Every failure either path sees fails the benchmark.

Raw fire-and-forget: the same, but without a delivery callback, so librdkafka's reports are
dropped unread; reported as `raw_fire_and_forget_per_s` and `ratio_vs_fire_and_forget`, to
show what learning of every outcome costs even without keel.

Bare: the same keys and values without headers or callback, the floor of what confluent-kafka
can do here; reported as `bare_per_s` and `ratio_vs_bare`.

Stock: what the issue's reference figure measured, confluent-kafka's own `AvroSerializer` path:
build each `SendEmail` from plain values, `model_dump()`, serialise with `AvroSerializer` (the
same subject, so the same schema id), produce with the key and the pre-built headers, checked
reports; reported as `stock_per_s` and `ratio_vs_stock` (typed / stock), so keel's encode path
can be compared with the stock one, and stock with raw, in the same run.

The paths run interleaved, rotating which goes first each round, so drift on a shared machine
hits all of them; medians of the rounds are compared.

Beside each rate, the CPU the calling thread spent per job (`time.thread_time_ns` around the
round, flush included, so delivery reports served there count): librdkafka's own threads and the
broker are not in it, so other work on the machine moves it far less than the rates.
`cpu_ratio_vs_stock` is the stock path's CPU per job over the typed path's, `cpu_ratio` raw's
over typed's (each >1 when typed costs less).
"""

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from keel.load.topics import delete_topics
from keel.producers.publisher import Publisher
from keel.producers.records import Record, RecordBuilder
from keel.producers.settings import ProducerSettings, Route
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from keel.schemas.headers import Headers
from keel.schemas.settings import ClusterSettings

_WARM_UP = 2_000


@dataclass(frozen=True)
class PublishBenchResult:
    """Jobs per second, median over rounds, and each round's figure."""

    jobs: int
    rounds: int
    partitions: int
    typed_per_s: float
    raw_per_s: float
    ratio: float
    raw_fire_and_forget_per_s: float
    ratio_vs_fire_and_forget: float
    bare_per_s: float
    ratio_vs_bare: float
    stock_per_s: float
    ratio_vs_stock: float
    typed_cpu_us: float
    raw_cpu_us: float
    stock_cpu_us: float
    cpu_ratio: float
    cpu_ratio_vs_stock: float
    typed_runs: list[float] = field(default_factory=list)
    raw_runs: list[float] = field(default_factory=list)
    raw_fire_and_forget_runs: list[float] = field(default_factory=list)
    bare_runs: list[float] = field(default_factory=list)
    stock_runs: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_values(count: int) -> list[dict[str, Any]]:
    """Plain field values for `count` SendEmail jobs over 1,000 users, as a web handler has."""
    users = [uuid.uuid4() for _ in range(1_000)]
    return [
        {
            "user_id": users[n % len(users)],
            "to": f"user{n % len(users)}@example.com",
            "template": "welcome",
            "params": {"name": f"User {n}", "plan": "pro"},
        }
        for n in range(count)
    ]


def run_publish_bench(
    cluster: ClusterSettings, jobs: int, rounds: int, partitions: int
) -> PublishBenchResult:
    """Measure every path on `jobs` jobs, `rounds` times each, interleaved.

    The bench's topic is deleted when it ends (`keel.load.topics`).
    """
    topic = f"bench.publish.{uuid.uuid4().hex[:8]}"
    ensure_topics(clients.admin(cluster), {topic: partitions})
    try:
        return _measure(cluster, topic, jobs, rounds, partitions)
    finally:
        delete_topics(cluster, [topic])


def _measure(
    cluster: ClusterSettings, topic: str, jobs: int, rounds: int, partitions: int
) -> PublishBenchResult:
    settings = ProducerSettings(routes={SendEmail.get_fullname(): Route(topic=topic)})
    values = sample_values(jobs)
    config = settings.to_confluent()
    failures = DeliveryFailures()
    with (
        Publisher(cluster, settings) as publisher,
        clients.registry(cluster) as client,
    ):
        records = _pre_build(client, settings, values)
        checked = clients.producer(cluster, {**config, "on_delivery": failures})
        unchecked = clients.producer(cluster, config)
        paths = [
            _typed(publisher, values),
            _raw(checked, records, headers=True),
            _raw(unchecked, records, headers=True),
            _raw(unchecked, records, headers=False),
            _stock(checked, _stock_serializer(client), values, records),
        ]
        try:
            for path in paths:
                path(min(_WARM_UP, jobs))
            runs = _interleave(paths, jobs, rounds)
        finally:
            checked.flush()
            unchecked.flush()
    failures.raise_any()
    return _result(jobs, rounds, partitions, runs)


class Round(NamedTuple):
    """One path's round: jobs per second, and the calling thread's CPU per job in µs."""

    per_s: float
    cpu_us: float


def _result(
    jobs: int, rounds: int, partitions: int, measured: list[list[Round]]
) -> PublishBenchResult:
    runs = [[r.per_s for r in path] for path in measured]
    cpu = [statistics.median(r.cpu_us for r in path) for path in measured]
    typed, raw, fire_and_forget, bare, stock = (statistics.median(r) for r in runs)
    return PublishBenchResult(
        jobs=jobs,
        rounds=rounds,
        partitions=partitions,
        typed_per_s=typed,
        raw_per_s=raw,
        ratio=typed / raw,
        raw_fire_and_forget_per_s=fire_and_forget,
        ratio_vs_fire_and_forget=typed / fire_and_forget,
        bare_per_s=bare,
        ratio_vs_bare=typed / bare,
        stock_per_s=stock,
        ratio_vs_stock=typed / stock,
        typed_cpu_us=cpu[0],
        raw_cpu_us=cpu[1],
        stock_cpu_us=cpu[4],
        cpu_ratio=cpu[1] / cpu[0],
        cpu_ratio_vs_stock=cpu[4] / cpu[0],
        typed_runs=runs[0],
        raw_runs=runs[1],
        raw_fire_and_forget_runs=runs[2],
        bare_runs=runs[3],
        stock_runs=runs[4],
    )


class DeliveryFailures:
    """The raw producer's delivery callback: checks every report, keeps the errors.

    A producer that must not lose jobs silently needs one, so the honest raw baseline pays for
    it as the publisher does (whose own callback does the same and more).
    """

    def __init__(self) -> None:
        self.errors: list[KafkaError] = []

    def __call__(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.errors.append(error)

    def raise_any(self) -> None:
        """Fail the benchmark when any raw job was not delivered: its figure would be a lie."""
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} raw job(s) not delivered: {self.errors[0]}")


Path = Callable[[int], float]


def _typed(publisher: Publisher, values: list[dict[str, Any]]) -> Path:
    def run(count: int) -> float:
        started = time.perf_counter()
        for fields in values[:count]:
            publisher.publish_nowait(SendEmail(**fields), key=fields["user_id"])
        publisher.flush()
        return count / (time.perf_counter() - started)

    return run


def _raw(producer: Producer, records: list[Record], *, headers: bool) -> Path:
    def run(count: int) -> float:
        started = time.perf_counter()
        for record in records[:count]:
            _send(producer, record, record.value, record.headers if headers else None)
        producer.flush()
        return count / (time.perf_counter() - started)

    return run


def _send(producer: Producer, record: Record, value: bytes | None, headers: Headers | None) -> None:
    """`produce`, waiting for room when librdkafka's queue is full, then serve reports."""
    while True:
        try:
            producer.produce(record.topic, value, record.key, headers=headers)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)


def _stock(
    producer: Producer,
    serializer: AvroSerializer,
    values: list[dict[str, Any]],
    records: list[Record],
) -> Path:
    def run(count: int) -> float:
        started = time.perf_counter()
        for fields, record in zip(values[:count], records[:count], strict=True):
            context = SerializationContext(record.topic, MessageField.VALUE)
            value = serializer(SendEmail(**fields).model_dump(), context)
            _send(producer, record, value, record.headers)
        producer.flush()
        return count / (time.perf_counter() - started)

    return run


def _stock_serializer(client: SchemaRegistryClient) -> AvroSerializer:
    """confluent-kafka's serializer for SendEmail, on the subject keel registers it under."""
    serializer: AvroSerializer = AvroSerializer(
        client,
        demo_catalog().of(SendEmail).schema_str,
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": topic_record_subject_name_strategy,
        },
    )
    return serializer


def _pre_build(
    client: SchemaRegistryClient, settings: ProducerSettings, values: list[dict[str, Any]]
) -> list[Record]:
    """The records the typed path would send, built before timing starts."""
    builder = RecordBuilder(JobCodec(client, demo_catalog()), settings)
    return [builder.build(SendEmail(**v), v["user_id"]) for v in values]


def _interleave(paths: list[Path], jobs: int, rounds: int) -> list[list[Round]]:
    runs: list[list[Round]] = [[] for _ in paths]
    for round_no in range(rounds):
        for offset in range(len(paths)):
            index = (round_no + offset) % len(paths)
            started = time.thread_time_ns()
            per_s = paths[index](jobs)
            runs[index].append(Round(per_s, (time.thread_time_ns() - started) / jobs / 1000))
    return runs
