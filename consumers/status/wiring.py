"""Opening a worker's status recorder: which types it tracks, the topic, the result encoders.

Nothing is opened when no handled type is tracked, so a worker without job status pays
nothing. With tracked types, the status topic is created if missing (compacted by job id,
deleted after `KEEL_STATUS_RETENTION_MS`), and each declared result model's schema is
registered for it up front, so the first `done` does not wait for the registry.
"""

import asyncio
import logging

from keel.consumers.app import App
from keel.consumers.settings import WorkerSettings
from keel.consumers.status.recorder import ResultEncoder, StatusRecorder, Tracked
from keel.producers.topics import ensure_topics
from keel.schemas import clients
from keel.schemas.catalog import JobCatalog
from keel.schemas.codec import JobCodec
from keel.schemas.job import Job
from keel.schemas.status.settings import StatusSettings, is_tracked

_LOG = logging.getLogger(__name__)
_TIMEOUT_S = 30.0


def tracked_types(app: App, settings: StatusSettings) -> dict[str, type[Job]]:
    """The handled job types that get a status: Avro full name -> model."""
    catalog = app.catalog
    models = (model for model in app.handlers if issubclass(model, Job))
    named = ((catalog.of(model).name, model) for model in models if model in _models(catalog))
    return {name: model for name, model in named if is_tracked(model, name, settings)}


def open_recorder(app: App, settings: WorkerSettings) -> StatusRecorder | None:
    """The recorder of `app`'s tracked types; None when none is tracked (or the topic refused)."""
    status = settings.status
    tracked = tracked_types(app, status)
    if not tracked:
        return None
    partitions = _ensure_topic(settings, status)
    if partitions is None:
        return None
    config: dict[str, object] = {
        "linger.ms": 5,  # the recorder batches for KEEL_STATUS_LINGER_MS itself
        "acks": "all",
        "enable.idempotence": True,
        # Uncompressed: a broker re-validates a compressed batch by decompressing it, and status
        # records are small and short-lived (measured, docs/benchmarks.md "Job status").
        "compression.type": "none",
    }
    return StatusRecorder(
        lambda extra: clients.producer(settings.cluster, {**config, **extra}),
        status.topic,
        partitions,
        Tracked(frozenset(tracked), _result_encoders(settings, tracked)),
        later=asyncio.get_running_loop().call_later,
        linger_s=status.linger_ms / 1000,
    )


def _result_encoders(
    settings: WorkerSettings, tracked: dict[str, type[Job]]
) -> dict[str, tuple[type[Job], ResultEncoder]]:
    declared = {name: model.keel_result for name, model in tracked.items()}
    results = {name: model for name, model in declared.items() if model is not None}
    if not results:
        return {}
    with clients.registry(settings.cluster) as registry:
        codec = JobCodec(registry, JobCatalog.from_models(set(results.values())))
        # `encoder` registers the schema now; the writer it returns needs no registry after.
        return {
            name: (model, codec.encoder(model, settings.status.topic))
            for name, model in results.items()
        }


def _ensure_topic(settings: WorkerSettings, status: StatusSettings) -> int | None:
    admin = clients.admin(settings.cluster)
    report = ensure_topics(admin, {status.topic: status.partitions}, config=status.topic_config())
    if report.refused:
        _LOG.error("job status is off: %s", report.refused[status.topic])
        return None
    found = admin.list_topics(status.topic, timeout=_TIMEOUT_S).topics.get(status.topic)
    return len(found.partitions) if found is not None and found.partitions else None


def _models(catalog: JobCatalog) -> set[type[Job]]:
    return {job_type.model for job_type in catalog}
