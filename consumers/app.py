"""The user's entry point: an `App` names a consumer group and holds its handlers.

    app = App("billing")

    @app.handler(SendEmail, retry=RetryPolicy(max_attempts=3), timeout=10)
    async def send_email(job: SendEmail, ctx: Context) -> None: ...

An `App` connects to nothing; `keel worker module:app` (or `keel.consumers.runner.run(app)`) builds
the worker from it.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from pydantic import BaseModel

from keel.consumers.registrations import Handler, Registration, Registrations
from keel.consumers.retry_policy import RetryPolicy
from keel.consumers.settings import WorkerSettings
from keel.schemas.catalog import JobCatalog, reference_catalog

H = TypeVar("H", bound=Handler)


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
        """`catalog`: the job types this app can decode; keel's reference jobs by default.

        A service with job types of its own passes `reference_catalog().including(...)` or a
        catalog of its own, so the worker can read what its handlers take.
        """
        if not name:
            raise ValueError("an App needs a name: it is the consumer group")
        self.name = name
        self.catalog = catalog or reference_catalog()
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
    ) -> Callable[[H], H]:
        """Register the decorated function (async or sync) as the handler of `job_type`."""

        def register(function: H) -> H:
            self._registrations.add(
                job_type,
                function,
                retry or self._default_retry,
                timeout if timeout is not None else self._default_timeout,
            )
            return function

        return register

    @property
    def handlers(self) -> Mapping[type[BaseModel], Registration]:
        return self._registrations.by_type

    @property
    def settings(self) -> WorkerSettings:
        """The settings given, or the environment's, read once."""
        if self._settings is None:
            self._settings = WorkerSettings()
        return self._settings

    @property
    def group_id(self) -> str:
        return self.settings.group_id or self.name
