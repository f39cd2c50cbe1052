"""The composition root and the one loop: build a worker from an `App`, run it, stop it.

`build` constructs every client and stage (nothing connects at import time); `Worker.run`
starts them, waits for the stop event, then shuts down in the order that loses nothing, every
step within one deadline `shutdown_timeout` away (keel.consumers.shutdown):

    not ready -> start nothing new -> running jobs finish (their share) -> commit -> close the
    consumer (leave the group) -> flush dead letters -> stop serving health
"""

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.cimpl import NewTopic

from keel.consumers.app import App
from keel.consumers.beats.heartbeat import Heartbeat, this_process
from keel.consumers.dead_letters.kafka_sink import KafkaSink
from keel.consumers.dead_letters.parking import HoldReader, ensure_state_topic, state_reader
from keel.consumers.engine_factory import build_engine, engine_config
from keel.consumers.permissions import check_worker_access
from keel.consumers.pipeline.commit import Committer, Positions
from keel.consumers.pipeline.deadline import Deadline
from keel.consumers.pipeline.observer import observers
from keel.consumers.pipeline.source import Source
from keel.consumers.reader_warm_up import warm_readers
from keel.consumers.settings import WorkerSettings
from keel.consumers.shutdown import Watchdog, jobs_deadline
from keel.consumers.status.wiring import open_recorder
from keel.consumers.telemetry.health import HealthServer, Probe
from keel.consumers.telemetry.lag import ConsumerLag
from keel.consumers.telemetry.logs import JobLogContext
from keel.consumers.telemetry.metrics import Metrics, Readings
from keel.consumers.telemetry.otel import on_loop
from keel.consumers.telemetry.prometheus import CONTENT_TYPE, PrometheusView
from keel.consumers.telemetry.providers import Telemetry
from keel.consumers.telemetry.tracing import Tracing
from keel.producers.settings import ProducerSettings
from keel.schemas import clients
from keel.schemas.access import check_authentication, refusal
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
from keel.schemas.job import Job
from keel.schemas.topics import dead_letter_topic
from keel.schemas.tracing import TracerProvider

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter

_LOG = logging.getLogger(__name__)
LIVENESS_WINDOW = 15.0
# After a freeze, how long to wait before asking again whether the partitions are still ours
# when a commit could not tell (a rebalance under way, a broker away).
OWNERSHIP_RETRY = 0.2


class Worker:
    """Every running part of one worker process, wired together."""

    def __init__(
        self,
        app: App,
        settings: WorkerSettings,
        codec: JobCodec,
        tracer_provider: TracerProvider | None = None,
        metric_exporter: "MetricExporter | None" = None,
    ) -> None:
        """Telemetry as `telemetry.providers` decides; the arguments override the environment.

        `tracer_provider` defaults to the global one (or an OTLP one, if configured); without
        either, nothing is traced. `metric_exporter` receives the metrics periodically as
        OpenTelemetry data, as an OTLP endpoint in the environment would.
        """
        self.app = app
        self.settings = settings
        self.codec = codec
        self.group = app.group_id
        self.topics = resolve_topics(app, settings)
        _LOG.info("worker %s connects with %s", self.group, settings.cluster)  # str(): redacted
        loop = asyncio.get_running_loop()
        self.pool = ThreadPoolExecutor(settings.sync_threads, thread_name_prefix="keel-sync")
        dead_letter_config = settings.dead_letter_producer_config()
        self.sink = KafkaSink(
            lambda extra: clients.producer(settings.cluster, {**dead_letter_config, **extra})
        )
        self.metrics = Metrics()
        self.lag = ConsumerLag()
        self.telemetry = Telemetry.start(
            settings.telemetry,
            group=self.group,
            read=on_loop(loop, self.metrics.snapshot),
            tracer=tracer_provider,
            metric_exporter=metric_exporter,
        )
        self.draining = False
        self.exit_at_deadline = False  # `serve` owns the process: the watchdog may end it
        self._committer_stop = asyncio.Event()
        self.holds = HoldReader(state_reader(settings.cluster), self.group)
        self.status = open_recorder(app, settings)  # None: no handled type is tracked
        self.engine = build_engine(
            app,
            decoder=codec,
            sink=self.sink,
            pool=self.pool,
            config=engine_config(settings, self.topics),
            catalog=codec.catalog,
            observer=observers(
                [
                    self.metrics,
                    Tracing.of(self.group, self.telemetry.tracer_provider),
                    JobLogContext() if settings.log_format == "json" else None,
                    self.status,
                ]
            ),
            on_flow=self._flow,
            holds=self.holds,
            quarantine_keys=settings.quarantine_keys,
            commit_now=self._commit_now,
        )
        if self.status is not None:
            self.status.watch(self.engine.under_way)
        quarantine = self.engine.quarantine
        self.metrics.bound(
            Readings(
                buffered=lambda: self.engine.buffered,
                running=lambda: self.engine.running,
                blocked=lambda: len(self.engine.blocked()),
                lag=lambda: self.lag.of(self.engine.time_lags()),
                time_lag=self.engine.time_lags,
                quarantined=lambda: quarantine.held if quarantine else 0,
                parked=lambda: quarantine.parked if quarantine else 0,
                circuits=self.engine.circuits,
            )
        )
        consumer_config = {**settings.to_confluent(self.group), "stats_cb": self.lag.on_stats}
        self.source = Source(
            lambda own: clients.consumer(settings.cluster, self.group, {**consumer_config, **own}),
            self.topics,
            self.engine,
            batch=settings.poll_batch,
            poll_timeout=settings.poll_timeout,
            drain_timeout=settings.drain_timeout,
            before_assign=self.holds.read,
        )
        self.committer = Committer(
            self.engine.positions, self.source.commit, settings.commit_interval
        )
        self.engine.on_suspect = self._prove_ownership
        self._proofs: set[asyncio.Task[None]] = set()
        self.prometheus = PrometheusView(self.metrics.snapshot)
        self.health = HealthServer(self.live, self.ready, self.prometheus.render, CONTENT_TYPE)
        worker_id = this_process(self.group, settings.child)
        self.beats = Heartbeat(settings.beats, settings.cluster, worker_id, self.metrics.snapshot)

    def _flow(self) -> None:
        self.source.flow()

    async def _commit_now(self, positions: Positions) -> None:
        await self.committer.record(positions)

    def _prove_ownership(self, epoch: int) -> None:
        """After a freeze, ask Kafka with a commit whether the partitions are still ours."""
        proof = asyncio.get_running_loop().create_task(self._commit_to_confirm(epoch))
        self._proofs.add(proof)
        proof.add_done_callback(self._proofs.discard)

    async def _commit_to_confirm(self, epoch: int) -> None:
        # Kafka refuses the commit of a member that left the current generation; meanwhile
        # librdkafka learns the same from its heartbeat, and `lost` ends the suspicion instead.
        while self.engine.suspect:
            if await self.committer.flush(every=True):
                if self.engine.confirm(epoch):
                    _LOG.info("a commit after the freeze went through: the partitions are ours")
                return
            await asyncio.sleep(OWNERSHIP_RETRY)

    def live(self) -> Probe:
        age = time.monotonic() - self.source.heartbeat
        return Probe(age < LIVENESS_WINDOW, {"last_poll_seconds_ago": round(age, 3)})

    def ready(self) -> Probe:
        blocked = self.engine.blocked()
        detail: dict[str, object] = {
            "assigned": self.source.assignment_received,
            "partitions": self.engine.assigned,
            "draining": self.draining,
            "buffered": self.engine.buffered,
            "running": self.engine.running,
            "dead_letter_blocked": blocked,
        }
        ok = self.source.assignment_received and not self.draining and not blocked
        return Probe(ok, detail)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then shut down gracefully.

        Raises `RefusedError` before anything starts if the cluster refuses the credentials, or
        the principal may not read its group or topics: an idle worker would look healthy.
        """
        check_authentication(self.settings.cluster)
        check_worker_access(self.settings.cluster, self.group, self.topics)
        ensure_dead_letter_topics(self.settings, self.topics)
        ensure_state_topic(self.settings.cluster, self.group)
        if self.settings.health_port is not None:
            await self.health.start(self.settings.health_host, self.settings.health_port)
        await asyncio.to_thread(warm_readers, self.codec, self.app.handlers, self.topics)
        self.source.start()
        self.beats.start()
        committing = asyncio.create_task(
            self.committer.run(self._committer_stop), name="keel-committer"
        )
        _LOG.info("worker %s consuming %s", self.group, ", ".join(self.topics))
        try:
            await stop.wait()
        finally:
            await self._shutdown(committing)

    async def _shutdown(self, committing: "asyncio.Task[None]") -> None:
        timeout = self.settings.shutdown_timeout
        deadline = Deadline.after(timeout)
        if self.exit_at_deadline:
            Watchdog(deadline, timeout).start()
        self.draining = True
        _LOG.info(
            "stopping within %.1f s: %d jobs running, %d buffered",
            timeout,
            self.engine.running,
            self.engine.buffered,
        )
        jobs_until = jobs_deadline(deadline, timeout).remaining()
        # A revoke drain under way, or the close's, waits no longer than the running jobs' share.
        asyncio.get_running_loop().call_later(jobs_until, self.engine.cut_drains)
        await self.engine.stop(jobs_until)
        self._committer_stop.set()
        await committing
        await _within(deadline, self.committer.flush())
        await _within(deadline, self.source.close(deadline))
        await _within(deadline, self.beats.stop(deadline.remaining()))  # gone from `keel workers`
        self.sink.close(deadline.remaining())
        if self.status is not None:
            self.status.close(deadline.remaining())
        self.pool.shutdown(wait=False, cancel_futures=True)
        # The last export reads on this loop.
        await _within(deadline, asyncio.to_thread(self.telemetry.close))
        await self.health.close()
        _LOG.info("stopped")


async def _within(deadline: Deadline, step: Awaitable[object]) -> None:
    """Await `step` until `deadline`; a step cut short logs why and the shutdown goes on."""
    try:
        await asyncio.wait_for(step, deadline.remaining())
    except TimeoutError:
        _LOG.warning("shutdown step cut short at the shutdown deadline")


def resolve_topics(app: App, settings: WorkerSettings) -> list[str]:
    """`KEEL_WORKER_TOPICS` if set, else the topics (every lane) the app's job types are routed to.

    The routes are the producers' (`KEEL_ROUTES`), so a worker reads where its jobs are
    published without the topic names being written down twice.
    """
    if settings.topics:
        return list(settings.topics)
    routes = ProducerSettings().routes
    handled = [app.catalog.of(model).name for model in app.handlers if issubclass(model, Job)]
    routed = [routes[name] for name in handled if name in routes]
    topics = sorted({topic for route in routed for topic in route.lane_topics().values()})
    if not topics:
        raise ValueError(
            f"no topics to consume: none of {handled} is in KEEL_ROUTES; set KEEL_ROUTES or "
            'KEEL_WORKER_TOPICS, e.g. ["jobs.email"]'
        )
    return topics


def ensure_dead_letter_topics(settings: WorkerSettings, topics: list[str]) -> None:
    """Create `T.dlt` for every consumed topic that lacks one, with T's partition count."""
    admin = clients.admin(settings.cluster)
    existing = admin.list_topics(timeout=30).topics
    wanted = [
        NewTopic(dead_letter_topic(t), num_partitions=len(existing[t].partitions))
        for t in topics
        if t in existing and dead_letter_topic(t) not in existing
    ]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted).items():
        try:
            future.result(timeout=30)
            _LOG.info("created dead-letter topic %s", name)
        except KafkaException as error:
            why = refusal(error.args[0], "Create", name)
            if why is not None:  # it may exist unseen (no Describe): a poison record will say
                _LOG.warning("dead-letter topic %s not created: %s", name, why)
            elif error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise  # unless another worker has just created it


async def serve(
    app: App,
    stop: asyncio.Event | None = None,
    *,
    catalog: JobCatalog | None = None,
    handle_signals: bool = False,
    on_start: Callable[[Worker], None] | None = None,
) -> None:
    """Run `app` until `stop` is set (or SIGTERM/SIGINT, with `handle_signals`)."""
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    settings = app.settings
    with clients.registry(settings.cluster) as client:
        codec = JobCodec(client, catalog or app.catalog, auto_register=False)
        worker = Worker(app, settings, codec)
        worker.exit_at_deadline = handle_signals
        if on_start is not None:
            on_start(worker)
        await worker.run(stop)
