"""Send-email, generate-report and process-payment (the demo jobs), with simulated I/O."""

import asyncio
import random
import threading
import time
from functools import cache
from uuid import UUID

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.consumers.app import App
from keel.consumers.context import Context
from keel.consumers.retry_policy import RetryPolicy
from keel.schemas.demo import GenerateReport, ProcessPayment, SendEmail


class DemoSettings(BaseSettings):
    """How slow and how flaky the simulated services are."""

    model_config = SettingsConfigDict(env_prefix="KEEL_DEMO_", frozen=True)

    latency: float = Field(default=0.02, ge=0)
    failure_rate: float = Field(default=0.02, ge=0, le=1)


@cache
def settings() -> DemoSettings:
    """Read once, on the first job rather than at import."""
    return DemoSettings()


_RANDOM = random.Random()  # noqa: S311 - simulated failures, not secrets
_PAYMENTS_LOCK = threading.Lock()
_PAYMENTS: dict[UUID, str] = {}  # payment id -> the charge made for it, once

app = App("keel-demo", retry=RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=5.0))


def _flaky(service: str) -> None:
    if _RANDOM.random() < settings().failure_rate:
        raise ConnectionError(f"{service} did not answer")


@app.handler(SendEmail, timeout=10)
async def send_email(job: SendEmail, ctx: Context) -> None:
    """Pretend to call a mail service."""
    await asyncio.sleep(settings().latency)
    _flaky("mail service")


@app.handler(GenerateReport, timeout=60)
def generate_report(job: GenerateReport, ctx: Context) -> None:
    """Pretend to crunch numbers: CPU-bound work runs in the worker's thread pool."""
    time.sleep(settings().latency * 5)
    _flaky("warehouse")


@app.handler(ProcessPayment, timeout=30)
async def process_payment(job: ProcessPayment, ctx: Context) -> None:
    """Charge once per payment id, however often the job is delivered or retried."""
    with _PAYMENTS_LOCK:
        if job.payment_id in _PAYMENTS:
            ctx.logger.info("payment %s already charged; nothing to do", job.payment_id)
            return
    await asyncio.sleep(settings().latency)
    _flaky("payment provider")
    with _PAYMENTS_LOCK:
        _PAYMENTS.setdefault(job.payment_id, f"{job.amount} {job.currency} for {job.order_id}")


def charged_payments() -> dict[UUID, str]:
    """The charges made so far (a stand-in for the provider's ledger)."""
    with _PAYMENTS_LOCK:
        return dict(_PAYMENTS)
