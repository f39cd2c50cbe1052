"""A service's own contract: `keel schemas generate|asyncapi` on its directory, and bad input."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from keel.cli import app
from keel.schemas import generate
from keel.schemas.catalog import JobType, contract_schema
from keel.schemas.project import ProjectSettings

runner = CliRunner()
ASYNCAPI_SCHEMA = (
    Path(sys.prefix) / "asyncapi/node_modules/@asyncapi/specs/schemas/3.0.0-without-$id.json"
)
INVOICE: dict[str, Any] = {
    "type": "record",
    "name": "InvoiceCustomer",
    "namespace": "billing.jobs",
    "doc": "Send one invoice to one customer.",
    "keel.ordered": True,
    "fields": [
        {"name": "customer_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Who."},
        {"name": "lines", "type": {"type": "array", "items": "string"}, "default": []},
        {
            "name": "total",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            "doc": "What they owe.",
        },
    ],
}


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A service folder with its own pyproject, `[tool.keel]` table and one `.avsc` file."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "billing"\nversion = "2.1.0"\n\n'
        '[tool.keel]\nschemas_dir = "contract"\njobs_module = "billing/jobs.py"\n'
    )
    (tmp_path / "contract").mkdir()
    (tmp_path / "contract" / "invoice_customer.avsc").write_text(json.dumps(INVOICE))
    monkeypatch.chdir(tmp_path)
    for name in ("KEEL_SCHEMAS_DIR", "KEEL_JOBS_MODULE", "KEEL_ROUTES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generated_{id(path)}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generate_writes_the_module_the_service_configured(service: Path) -> None:
    result = runner.invoke(app, ["schemas", "generate"])

    assert result.exit_code == 0, result.output
    module = service / "billing" / "jobs.py"
    assert f"{module}: written" in result.output
    code = module.read_text()
    assert "from keel.schemas.job import Job" in code
    assert "`../contract/*.avsc`" in code
    job_type = JobType.from_model(_import(module).InvoiceCustomer)
    assert job_type.ordered is True
    assert json.loads(job_type.schema_str) == contract_schema(INVOICE)


def test_generate_again_reports_the_module_up_to_date(service: Path) -> None:
    runner.invoke(app, ["schemas", "generate"])

    again = runner.invoke(app, ["schemas", "generate"])

    assert again.exit_code == 0
    assert "up to date" in again.output


def test_flags_win_over_the_environment_which_wins_over_pyproject(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (service / "sub").mkdir()
    monkeypatch.chdir(service / "sub")  # paths stay relative to the project root
    assert ProjectSettings().schema_directory() == service / "contract"
    monkeypatch.setenv("KEEL_JOBS_MODULE", "elsewhere.py")
    assert ProjectSettings().module_path() == service / "elsewhere.py"
    assert ProjectSettings().module_path(Path("flag.py")) == Path("flag.py")


def test_without_ruff_the_module_is_written_unformatted_and_still_valid(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "_find_ruff", lambda: None)

    result = runner.invoke(app, ["schemas", "generate", "--module", "plain.py"])

    assert result.exit_code == 0, result.output
    assert "ruff not found" in result.stderr
    model = _import(service / "plain.py").InvoiceCustomer
    assert JobType.from_model(model).ordered is True


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["schemas", "generate", "--schemas", "missing"], "schema directory missing does not"),
        (["schemas", "check", "--schemas", "missing"], "schema directory missing does not"),
        (["schemas", "register", "--type", "billing.jobs.Nope"], "job type billing.jobs.Nope"),
        (["schemas", "asyncapi", "--type", "billing.jobs.Nope"], "job type billing.jobs.Nope"),
    ],
)
def test_a_missing_directory_or_job_type_is_one_line_naming_it(
    service: Path, arguments: list[str], named: str
) -> None:
    result = runner.invoke(app, arguments)

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert named in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "content", ['{"type": "enum", "name": "E", "symbols": ["A"]}', "not json", '{"type": "record"}']
)
def test_a_file_that_is_no_avro_record_is_named(service: Path, content: str) -> None:
    (service / "contract" / "broken.avsc").write_text(content)

    result = runner.invoke(app, ["schemas", "generate"])

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "broken.avsc" in result.stderr


def _asyncapi(service: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    routes = {"billing.jobs.InvoiceCustomer": {"topic": "billing.invoices", "partitions": 6}}
    monkeypatch.setenv("KEEL_ROUTES", json.dumps(routes))
    result = runner.invoke(app, ["schemas", "asyncapi", "--output", "asyncapi.json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((service / "asyncapi.json").read_text())
    return document


def _validator() -> jsonschema.protocols.Validator:
    if not ASYNCAPI_SCHEMA.is_file():
        pytest.fail("@asyncapi/specs is not installed: `make install` installs it with npm")
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(schema)(schema)
    return validator


def test_asyncapi_document_is_valid_against_the_official_schema(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _asyncapi(service, monkeypatch)

    errors = [error.message for error in _validator().iter_errors(document)]

    assert errors == []
    assert (document["info"]["title"], document["info"]["version"]) == ("billing", "2.1.0")
    channel = document["channels"]["billing.invoices"]
    assert channel["bindings"]["kafka"]["partitions"] == 6
    message = document["components"]["messages"]["billing.jobs.InvoiceCustomer"]
    assert message["payload"]["schemaFormat"] == "application/vnd.apache.avro;version=1.9.0"
    assert message["payload"]["schema"] == INVOICE
    assert message["bindings"]["kafka"]["key"]["type"] == "string"  # ordered: a key is required
    assert "keel-job-id" in message["headers"]["required"]
    assert {op["action"] for op in document["operations"].values()} == {"send", "receive"}


def test_the_official_schema_checks_the_avro_payload_too(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _asyncapi(service, monkeypatch)
    message = document["components"]["messages"]["billing.jobs.InvoiceCustomer"]
    message["payload"]["schema"]["type"] = "not-an-avro-type"

    assert list(_validator().iter_errors(document)) != []
