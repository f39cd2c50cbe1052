"""Publishing typed jobs to Kafka.

job (validated pydantic model)
  -> records.RecordBuilder   route by type, check the key, encode, stamp headers
  -> client.Connection       librdkafka producer (idempotent, acks=all), registry client
  -> Publisher / AsyncPublisher   publish (await the ack) or publish_nowait + flush

scheduler/ (periodic jobs): triggers (when) -> loop (leader election) -> leader (fencing, one
transaction per fire) -> state (how far each schedule has fired); see its package docstring.

delayed/ (delay= and eta=): timing (due time, tiers) -> records (put off, released) -> loop
(leader election) -> term (fencing, one transaction per step with the tier offsets); cancels,
pending (`keel jobs pending`); see its package docstring and docs/scheduling.md.
"""

from keel.producers.aio import AsyncPublisher
from keel.producers.delivery import Delivery, OnDelivery, Outcome
from keel.producers.errors import (
    DelayError,
    MessageTooLargeError,
    MissingKeyError,
    NoRouteError,
    PublishError,
    PublishTimeoutError,
)
from keel.producers.publisher import Publisher
from keel.producers.scheduler import CatchUp, Scheduler
from keel.producers.settings import ProducerSettings, Route, SchedulerSettings

__all__ = [
    "AsyncPublisher",
    "CatchUp",
    "DelayError",
    "Delivery",
    "MessageTooLargeError",
    "MissingKeyError",
    "NoRouteError",
    "OnDelivery",
    "Outcome",
    "ProducerSettings",
    "PublishError",
    "PublishTimeoutError",
    "Publisher",
    "Route",
    "Scheduler",
    "SchedulerSettings",
]
