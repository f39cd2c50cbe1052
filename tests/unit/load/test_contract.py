from keel.load.catalog import LOAD_AVRO_DIR, LOAD_MODULE, load_catalog
from keel.load.jobs import LoadJob
from keel.schemas.generate import load_schemas, render


def test_the_load_model_is_generated_from_its_schema() -> None:
    assert LOAD_MODULE.read_text() == render(
        load_schemas(LOAD_AVRO_DIR), LOAD_MODULE, LOAD_AVRO_DIR
    )


def test_load_jobs_are_ordered_by_key() -> None:
    job_type = load_catalog().of(LoadJob)

    assert job_type.name == "keel.load.LoadJob"
    assert job_type.ordered is True
