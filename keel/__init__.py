"""keel: background jobs on Apache Kafka, typed with Avro, run in per-key order.

    from keel import App, AsyncPublisher, Context, Publisher, Retry

The subpackages, one per role; dependencies point one way (schemas <- producers <- consumers):

    keel.schemas     the contract: job models, the catalog, the codec, the headers
    keel.producers   Publisher / AsyncPublisher, routing, the Scheduler
    keel.consumers   App, Context, the worker and its consume pipeline
    keel.deploy      the local broker and registry, deployment manifests
    keel.load        the load-test harness and benchmarks
"""

from keel.consumers.app import App
from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.context import Context
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.signals import Reject, Retry
from keel.producers.aio import AsyncPublisher
from keel.producers.publisher import Publisher
from keel.producers.scheduler import Scheduler
from keel.schemas.catalog import JobCatalog
from keel.schemas.job import Job

__all__ = [
    "App",
    "AsyncPublisher",
    "CircuitPolicy",
    "Context",
    "Job",
    "JobCatalog",
    "Publisher",
    "Reject",
    "Retry",
    "RetryPolicy",
    "Scheduler",
]
