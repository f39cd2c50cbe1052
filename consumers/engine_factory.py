"""The one place an `Engine` is assembled from an `App`.

The worker, the in-memory tester and the engine benchmark all build their engine here, so they
run the same stages in the same order: the app's handlers, its catalog's names and key rules,
the decode stage with the registry's transient errors, the dead-letter writer over a sink, the
executor. What differs between them is handed in: the decoder (the worker's `JobCodec`), where
dead letters go, the thread pool, the observer, the flow callback and the source of jitter.
"""

import asyncio
import random
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from functools import partial

from keel.consumers.app import App
from keel.consumers.dead_letters.parking import KafkaKeeper
from keel.consumers.dead_letters.sink import DeadLetterSink
from keel.consumers.dead_letters.writer import DeadLetterConfig, DeadLetterWriter
from keel.consumers.naming import CatalogNames
from keel.consumers.pipeline.careful import CommitNow
from keel.consumers.pipeline.decode import DecodeStage, JobDecoder
from keel.consumers.pipeline.engine import Engine, EngineConfig
from keel.consumers.pipeline.execute import Execute
from keel.consumers.pipeline.observer import NoObserver, Observer
from keel.consumers.pipeline.priority import LanePolicy, topic_rank
from keel.consumers.pipeline.quarantine import HoldSource, KeyQuarantine
from keel.consumers.retry_policy import Random
from keel.consumers.settings import WorkerSettings
from keel.schemas.catalog import JobCatalog
from keel.schemas.errors import RegistryUnavailableError

# Decoding failures that are the registry's, not the record's: decoded again later.
TRANSIENT_DECODE_ERRORS: tuple[type[Exception], ...] = (RegistryUnavailableError,)


def engine_config(settings: WorkerSettings, topics: Iterable[str] = ()) -> EngineConfig:
    """The engine's knobs as the worker's settings set them, for the `topics` it consumes."""
    return EngineConfig(
        max_running=settings.max_in_flight,
        high_water=settings.high_water,
        low_water=settings.low_water,
        max_overtakes=settings.overtakes,
        circuit=settings.circuit,
        suspect_after=settings.suspect_after,
        lanes=lane_policy(settings, topics),
        on_expired=settings.on_expired,
    )


def lane_policy(settings: WorkerSettings, topics: Iterable[str]) -> LanePolicy | None:
    """How the lanes among `topics` share the worker; None when they are all of one lane."""
    ranks = {topic_rank(topic) for topic in topics}
    if len(ranks) < 2:
        return None
    if min(settings.lane_weights) < 1:
        raise ValueError("KEEL_WORKER_LANE_WEIGHTS: every weight must be >= 1")
    slots = settings.max_in_flight
    reserve = settings.lane_reserve if settings.lane_reserve is not None else min(1, slots - 1)
    if reserve >= slots:
        raise ValueError("KEEL_WORKER_LANE_RESERVE must be below KEEL_WORKER_MAX_IN_FLIGHT")
    return LanePolicy(
        settings.lanes, settings.lane_weights, hold_at=slots, reserve=reserve, top=min(ranks)
    )


def build_engine(
    app: App,
    *,
    decoder: JobDecoder,
    sink: DeadLetterSink,
    pool: Executor,
    config: EngineConfig | None = None,
    catalog: JobCatalog | None = None,
    observer: Observer | None = None,
    on_flow: Callable[[], None] = lambda: None,
    rng: Random | None = None,
    holds: HoldSource | None = None,
    quarantine_keys: bool | None = None,
    commit_now: CommitNow | None = None,
) -> Engine:
    """An engine that runs `app`'s handlers on the running loop.

    `config` defaults to the app's settings; `catalog` (what names job types and says which are
    ordered by key) to the app's catalog. With `holds` (where a new owner of a partition
    finds its held keys), keys are quarantined behind their dead letters, saved through `sink`;
    `quarantine_keys` (the default of job types that do not say) defaults to the app's settings.
    `commit_now` (a synchronous commit) makes begun attempts durable before a start where
    that matters (see `pipeline.careful`).
    """
    settings = app.settings
    names = CatalogNames(catalog or app.catalog)
    observer = observer or NoObserver()
    writer = partial(
        DeadLetterWriter,
        DeadLetterConfig(app.group_id, settings.dead_letter_retry_max),
        sink=sink,
        names=names,
        observer=observer,
    )
    return Engine(
        config or engine_config(settings),
        decode=DecodeStage(decoder, names.is_ordered, TRANSIENT_DECODE_ERRORS),
        handlers=app.handlers,
        names=names,
        execute=Execute(asyncio.get_running_loop(), pool),
        dead_letters=writer,
        observer=observer,
        on_flow=on_flow,
        rng=rng or random.Random(),  # noqa: S311 - backoff jitter, not secrets
        quarantine=None
        if holds is None
        else partial(
            KeyQuarantine,
            KafkaKeeper(sink, names, app.group_id, holds.durable),
            holds,
            default=settings.quarantine_keys if quarantine_keys is None else quarantine_keys,
            observer=observer,
        ),
        commit_now=commit_now,
    )
