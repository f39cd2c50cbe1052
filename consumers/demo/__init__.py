"""The demo jobs' handlers, with simulated I/O: `keel worker keel.consumers.demo:app`.

The demo of `make run` and `keel demo`, not a default: a service's App holds its own handlers
and never these. The job types are `keel.schemas.demo`.

Latency and failure rate come from the environment (`KEEL_DEMO_LATENCY`, seconds;
`KEEL_DEMO_FAILURE_RATE`, 0..1) through `DemoSettings`, read once. Failures raise
`ConnectionError`, which the default retry policy retries; process-payment is idempotent by
payment id, so a redelivered payment charges once.
"""

from keel.consumers.demo.handlers import DemoSettings, app, charged_payments

__all__ = ["DemoSettings", "app", "charged_payments"]
