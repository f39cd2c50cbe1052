"""The user's entry point: an `App` names a consumer group and holds its handlers.

    app = App("billing")

    @app.handler(SendEmail, retry=RetryPolicy(max_attempts=3), timeout=10)
    async def send_email(job: SendEmail, ctx: Context) -> None: ...

The app's catalog, what its worker can decode, is the job types its handlers take, each
stating its own Avro schema; a service passes none. An `App` connects to nothing;
`keel worker module:app` (or `keel.consumers.runner.run(app)`) builds the worker from it.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from pydantic import BaseModel

from keel.consumers.circuit_policy import CircuitPolicy
from keel.consumers.registrations import (
    OnExpired,
    Registration,
    Registrations,
    ReturningHandler,
)
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.settings import WorkerSettings
from keel.schemas.catalog import JobCatalog
from keel.schemas.job import Job

H = TypeVar("H", bound=ReturningHandler)


class App:
    """A named set of job handlers: the name is the default consumer group."""

    def __init__(
        self,
        name: str,
        *,
        settings: WorkerSettings | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        catalog: JobCatalog | None = None,
    ) -> None:
        """`catalog`: the job types this app can decode; by default those its handlers take.

        An explicit catalog is for a worker that must also decode types it has no handler for
        (it then dead-letters them as unhandled instead of as unknown).
        """
        if not name:
            raise ValueError("an App needs a name: it is the consumer group")
        self.name = name
        self._catalog = catalog
        self._handled: JobCatalog | None = None
        self._settings = settings
        self._default_retry = retry or RetryPolicy()
        self._default_timeout = timeout
        self._registrations = Registrations()

    def handler(
        self,
        job_type: type[BaseModel],
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        quarantine: bool | None = None,
        circuit: CircuitPolicy | None = None,
        on_expired: OnExpired | None = None,
    ) -> Callable[[H], H]:
        """Register the decorated function (async or sync) as the handler of `job_type`.

        `quarantine`: once a job of a key is dead-lettered, park that key's later jobs until
        the job is replayed or released (docs/guarantees.md); None takes the worker's default.
        `circuit`: when an outage of what the type calls holds its jobs (default: the worker's
        `KEEL_WORKER_CIRCUIT`; `CircuitPolicy(enabled=False)` turns it off for this type).
        `on_expired`: a job published with `expires=` that had not started by then goes to the
        dead-letter topic (`"dead-letter"`, reason `expired`) or is dropped and counted
        (`"drop"`); None takes the worker's `KEEL_WORKER_ON_EXPIRED` (docs/scheduling.md).
        """

        def register(function: H) -> H:
            self._handled = None
            self._registrations.add(
                job_type,
                function,
                retry or self._default_retry,
                timeout if timeout is not None else self._default_timeout,
                quarantine=quarantine,
                circuit=circuit,
                on_expired=on_expired,
            )
            return function

        return register

    @property
    def catalog(self) -> JobCatalog:
        """The catalog given, or the job types of the registered handlers."""
        if self._catalog is not None:
            return self._catalog
        if self._handled is None:
            models = [model for model in self.handlers if issubclass(model, Job)]
            self._handled = JobCatalog.from_models(models)
        return self._handled

    @property
    def handlers(self) -> Mapping[type[BaseModel], Registration]:
        return self._registrations.by_type

    @property
    def settings(self) -> WorkerSettings:
        """The settings given, or the environment's, read once."""
        if self._settings is None:
            self._settings = WorkerSettings()
        return self._settings

    def configure(self, settings: WorkerSettings) -> None:
        """Run with `settings` instead (a supervised worker process takes its own health port)."""
        self._settings = settings

    @property
    def group_id(self) -> str:
        return self.settings.group_id or self.name
