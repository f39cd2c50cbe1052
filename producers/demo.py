"""`keel demo`: a stream of the demo jobs (`keel.schemas.demo`), so a worker has something to do.

Sends SendEmail, ProcessPayment and GenerateReport jobs over a small set of users and orders at
a steady rate through the ordinary `Publisher`: what a real service would publish, keyed the
way ordering requires (emails by user, payments by order; reports unordered).

Where the demo jobs go is `DEMO_ROUTES`, and it reaches every command through `KEEL_ROUTES`
like any service's routes: the Makefile's `run` target, deploy/compose.yaml and
deploy/k8s/base/worker.env each set it once to `demo_routes_json()`, and the tests hold them to
it. No command falls back to these routes when `KEEL_ROUTES` is unset: `keel topics ensure`,
`keel demo` and `keel worker keel.consumers.demo:app` must agree on the topics, and a fallback
in one of them would let the producer write where no topic was created and no worker reads.
`keel demo` without them stops before publishing and prints the line to set.
"""

import datetime
import decimal
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator

from keel.producers.publisher import Publisher
from keel.producers.records import Key
from keel.producers.settings import ProducerSettings, Route
from keel.schemas.demo import GenerateReport, ProcessPayment, ReportFormat, SendEmail
from keel.schemas.job import Job

DEMO_ROUTES: dict[str, Route] = {
    "keel.jobs.SendEmail": Route(topic="jobs.email", partitions=12),
    "keel.jobs.GenerateReport": Route(topic="jobs.reports", partitions=3),
    "keel.jobs.ProcessPayment": Route(topic="jobs.payments", partitions=12),
}

_USERS = [uuid.UUID(int=n + 1) for n in range(200)]
_FLUSH_EVERY = 500


def demo_routes_json() -> str:
    """`DEMO_ROUTES` as the `KEEL_ROUTES` value that runs the demo."""
    return json.dumps({name: route.model_dump() for name, route in DEMO_ROUTES.items()})


def unrouted_demo_jobs(settings: ProducerSettings) -> list[str]:
    """The demo job types that `settings` has no route for (none, to run the demo)."""
    return sorted(name for name in DEMO_ROUTES if name not in settings.routes)


def demo_jobs(seed: int = 1) -> Iterator[tuple[Job, Key | None]]:
    """Endless (job, key) pairs: mostly emails, some payments, now and then a report."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    for n in itertools.count():
        user = rng.choice(_USERS)
        kind = rng.random()
        if kind < 0.6:
            yield (
                SendEmail(user_id=user, to=f"user{user.int}@example.com", template="welcome"),
                user,
            )
        elif kind < 0.95:
            order = f"order-{n // 3}"
            yield _payment(rng, user, order), order
        else:
            yield _report(user), None


def publish_demo(publisher: Publisher, rate: float, jobs: int) -> int:
    """Publish `jobs` jobs (0: until interrupted) at `rate` per second; how many were sent."""
    interval = 1.0 / rate
    next_at = time.monotonic()
    sent = 0
    for job, key in demo_jobs():
        if jobs and sent >= jobs:
            break
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
        publisher.publish_nowait(job, key)
        sent += 1
        if sent % _FLUSH_EVERY == 0:
            publisher.flush()
    publisher.flush()
    return sent


def _payment(rng: random.Random, customer: uuid.UUID, order: str) -> ProcessPayment:
    cents = rng.randrange(100, 100_000)
    return ProcessPayment(
        payment_id=uuid.uuid4(),
        order_id=order,
        customer_id=customer,
        amount=decimal.Decimal(cents) / 100,
        currency="EUR",
        requested_at=datetime.datetime.now(datetime.UTC),
    )


def _report(user: uuid.UUID) -> GenerateReport:
    end = datetime.datetime.now(datetime.UTC)
    return GenerateReport(
        report_id=uuid.uuid4(),
        kind="weekly-signups",
        requested_by=user,
        period_start=end - datetime.timedelta(days=7),
        period_end=end,
        format=ReportFormat.CSV,
    )
