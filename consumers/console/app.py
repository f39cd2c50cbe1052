"""The console's one composition root: `create_app(settings, cluster)` builds the ASGI app.

Nothing connects when the app is built: each page asks the cluster (through
`keel.schemas.clients`) when it is shown, and the registry client is opened at start-up and
closed at shutdown. Routes are plain functions, so FastAPI runs their blocking Kafka calls in
its thread pool, off the event loop.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from confluent_kafka import KafkaException
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from keel.consumers.console import cluster_pages, dead_letter_pages, job_pages, session
from keel.consumers.console.auth import COOKIE, QUERY, TokenBook
from keel.consumers.console.bodies import BodyReader
from keel.consumers.console.errors import (
    bad_filter,
    http_error,
    invalid_request,
    unreachable,
)
from keel.consumers.console.filters import BadFilterError
from keel.consumers.console.rates import RateSampler
from keel.consumers.console.settings import ConsoleSettings
from keel.producers.settings import ProducerSettings
from keel.producers.status import StatusReader
from keel.schemas import clients
from keel.schemas.beats import BeatSettings
from keel.schemas.errors import RegistryError
from keel.schemas.settings import ClusterSettings
from keel.schemas.status.settings import StatusSettings

HERE = Path(__file__).parent


def create_app(
    settings: ConsoleSettings | None = None,
    cluster: ClusterSettings | None = None,
    *,
    delayed_topic: str | None = None,
    beats: BeatSettings | None = None,
    status: StatusSettings | None = None,
) -> FastAPI:
    """The console for `cluster`, with the tokens and limits of `settings`.

    `delayed_topic` defaults to the publishers' (`KEEL_DELAYED_TOPIC`); `beats` (where workers
    publish their heartbeats) to the workers' (`KEEL_BEATS_TOPIC`); `status` (where job statuses
    are) to `KEEL_STATUS_*`'s."""
    settings = settings or ConsoleSettings()
    cluster = cluster or ClusterSettings()
    app = FastAPI(
        title="keel console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan
    )
    app.state.settings = settings
    app.state.cluster = cluster
    app.state.tokens = TokenBook(settings.all_tokens())
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.rates = RateSampler()
    app.state.delayed_topic = delayed_topic or ProducerSettings().delayed_topic
    app.state.beats = beats or BeatSettings()
    app.state.statuses = StatusReader(cluster, status or StatusSettings())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (
        session.router,
        dead_letter_pages.router,
        cluster_pages.router,
        job_pages.router,
    ):
        app.include_router(router)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(BadFilterError, bad_filter)
    for failure in (KafkaException, TimeoutError, RegistryError):
        app.add_exception_handler(failure, unreachable)
    app.middleware("http")(_remember_query_token)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    with clients.registry(app.state.cluster) as registry:
        app.state.bodies = BodyReader(registry)
        yield


async def _remember_query_token(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """A valid `?token=` (a link handed to a browser) is kept in the console's cookie."""
    response = await call_next(request)
    secret = request.query_params.get(QUERY)
    if secret and request.app.state.tokens.holder(secret) is not None:
        session.set_cookie(response, secret, secure=request.url.scheme == "https")
    return response


__all__ = ["COOKIE", "create_app"]
