"""The harness's own job type, added to keel the way a user adds theirs: an `.avsc` file in a
directory of its own, a model generated from it, and a catalog built from the model."""

from pathlib import Path

from keel.load.jobs import LoadJob
from keel.schemas.catalog import JobCatalog

LOAD_AVRO_DIR = Path(__file__).with_name("avro")
LOAD_MODULE = Path(__file__).with_name("jobs.py")


def load_catalog() -> JobCatalog:
    return JobCatalog.from_models([LoadJob])
