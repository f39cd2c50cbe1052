"""keel's demo jobs: send-email, generate-report and process-payment, with their contract.

What `make run`, `keel demo` and keel's own tests run; no service carries them unless it asks.
They are kept the way a service keeps its own jobs: `.avsc` files in `avro/` (released versions
under `avro/history/`), models generated from them into `jobs.py` by `keel schemas generate`,
and a catalog built from the models. Their handlers are `keel.consumers.demo`, their producer
`keel.producers.demo`.
"""

from functools import cache
from pathlib import Path

from keel.schemas.catalog import JobCatalog
from keel.schemas.demo.jobs import GenerateReport, ProcessPayment, ReportFormat, SendEmail
from keel.schemas.job import Job

DEMO_AVRO_DIR = Path(__file__).with_name("avro")
DEMO_MODULE = Path(__file__).with_name("jobs.py")
DEMO_JOBS: tuple[type[Job], ...] = (SendEmail, GenerateReport, ProcessPayment)


@cache
def demo_catalog() -> JobCatalog:
    """The catalog of the demo jobs (fixed, so shared)."""
    return JobCatalog.from_models(DEMO_JOBS)


__all__ = [
    "DEMO_AVRO_DIR",
    "DEMO_JOBS",
    "DEMO_MODULE",
    "GenerateReport",
    "ProcessPayment",
    "ReportFormat",
    "SendEmail",
    "demo_catalog",
]
