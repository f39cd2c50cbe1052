"""Publishing typed jobs to Kafka.

job (validated pydantic model)
  -> records.RecordBuilder   route by type, check the key, encode, stamp headers
  -> client.Connection       librdkafka producer (idempotent, acks=all), registry client;
                             readiness: opened warm (connection, producer id, topic leaders)
  -> Publisher / AsyncPublisher   publish (await the ack), publish_many, or publish_nowait + flush
     expiry                   `expires=`: the `keel-expires-at` header, refused when already past

scheduler/ (periodic jobs): triggers (when) -> loop (leader election) -> leader (fencing, one
transaction per fire) -> state (how far each schedule has fired); see its package docstring.

delayed/ (delay= and eta=): timing (due time, tiers) -> records (put off, released) -> loop
(leader election) -> term (fencing, one transaction per step with the tier offsets); cancels,
pending (`keel jobs pending`); see its package docstring and docs/scheduling.md.
"""

from keel.producers.aio import AsyncPublisher
from keel.producers.delivery import Delivery, OnDelivery, Outcome
from keel.producers.errors import (
    BrokerUnavailableError,
    DelayError,
    ExpiryError,
    MessageTooLargeError,
    MissingKeyError,
    NoRouteError,
    PriorityError,
    PublishError,
    PublishTimeoutError,
)
from keel.producers.publisher import Publisher
from keel.producers.scheduler import CatchUp, Scheduler
from keel.producers.settings import ProducerSettings, Route, SchedulerSettings

__all__ = [
    "AsyncPublisher",
    "BrokerUnavailableError",
    "CatchUp",
    "DelayError",
    "Delivery",
    "ExpiryError",
    "MessageTooLargeError",
    "MissingKeyError",
    "NoRouteError",
    "OnDelivery",
    "Outcome",
    "PriorityError",
    "ProducerSettings",
    "PublishError",
    "PublishTimeoutError",
    "Publisher",
    "Route",
    "Scheduler",
    "SchedulerSettings",
]
