"""The demo handlers, through the in-memory worker users test with."""

from keel.consumers.demo import app, charged_payments
from keel.consumers.testing import InMemoryWorker
from tests.support.jobs import generate_report, process_payment, send_email


async def test_demo_jobs_run_and_a_payment_charges_once_per_payment_id() -> None:
    worker = InMemoryWorker(app, partitions=3)
    payment = process_payment()
    worker.send(send_email(), key=b"user-1")
    worker.send(generate_report())
    for _ in range(3):  # delivered three times, e.g. after a crash and a replay
        worker.send(payment, key=payment.order_id.encode())
    await worker.run_until_idle(timeout=30)
    await worker.close()
    assert worker.dead_letters == []
    assert list(charged_payments()).count(payment.payment_id) == 1
    assert sum(worker.committed.values()) == 5  # every record finished and committable
