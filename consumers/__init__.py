"""Workers that run jobs from Kafka: per-key order, commits only after success, dead letters.

    from keel.consumers import App, CircuitPolicy, Context, Retry, Reject, RetryPolicy

What a handler sees, and the leaf modules the pipeline may read:

    app            App: a consumer group and its handlers
    context        Context: the job's id, type, attempt, key and fence (`Fence`)
    signals        Retry, Reject, JobTimeout: how a handler says what happens next
    retry_policy   RetryPolicy as data and the pure `decide`
    circuit_policy CircuitPolicy: when an outage of a job type holds its jobs
    registrations  which handler runs which job type, with its policy and time limit
    settings       WorkerSettings, read from the environment once

The worker, from the bottom up (imports point up this list, never down):

    pipeline/       one module per stage: source → decode → lanes → execute → settle → commit
    dead_letters/   headers, writer (acknowledged before the offset counts), sinks, replay, cli
    telemetry/      observers of the pipeline: metrics, prometheus, otel, tracing, logs, lag,
                    health
    engine_factory  builds the engine from an App (the worker, `testing`, the benchmark)
    runner          the composition root and the one loop; `cli` is `keel worker`
    shutdown        SIGTERM's one bound, shared by every step, and its watchdog
    testing         InMemoryWorker: the real engine without a broker, for handler tests

Handlers never import `pipeline`; `pipeline` never imports the App, the runner or telemetry
(tests/unit/consumers/test_import_direction.py keeps it so).
"""

from keel.consumers.app import App
from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.context import Context, Fence
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.settings import WorkerSettings
from keel.consumers.signals import JobTimeout, Reject, Retry

__all__ = [
    "App",
    "CircuitPolicy",
    "Context",
    "Fence",
    "JobTimeout",
    "Reject",
    "Retry",
    "RetryPolicy",
    "WorkerSettings",
]
