"""An App decodes the job types its handlers take, and nothing of keel's demo unless asked."""

from typing import ClassVar

from keel import App, Context, Job, JobCatalog
from keel.schemas.demo import SendEmail, demo_catalog


class Invoice(Job):
    """A service's own job type, as `keel schemas generate` would write it."""

    invoice_id: str
    keel_ordered: ClassVar[bool] = True

    class Meta:
        namespace = "billing.jobs"


def test_an_apps_catalog_is_the_job_types_of_its_handlers() -> None:
    app = App("billing")

    @app.handler(Invoice)
    def invoice(job: Invoice, ctx: Context) -> None: ...

    assert app.catalog.names == ["billing.jobs.Invoice"]
    assert app.catalog.of(Invoice).ordered is True


def test_a_handler_added_later_joins_the_catalog() -> None:
    app = App("billing")
    assert app.catalog.names == []

    @app.handler(Invoice)
    def invoice(job: Invoice, ctx: Context) -> None: ...

    assert "billing.jobs.Invoice" in app.catalog


def test_a_catalog_given_to_the_app_is_the_one_it_decodes() -> None:
    catalog = demo_catalog().including(JobCatalog.from_models([Invoice]))
    app = App("billing", catalog=catalog)

    @app.handler(SendEmail)
    def send(job: SendEmail, ctx: Context) -> None: ...

    assert app.catalog is catalog
    assert len(app.catalog) == 4
