"""What the console answers when a request cannot be served: the status, and why, in the form
the caller reads (a page for a browser, JSON for the API and for everything else).

    401  no token, or an unknown one: a browser gets the login form
    403  a token whose role is too low (replay needs `operator`)
    400  a malformed filter or parameter, named: `since: not an ISO-8601 time: 'x'`
    404  no such record
    503  the cluster or the registry did not answer (a KafkaException, a timeout)
"""

from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from keel.consumers.console.filters import BadFilterError


def wants_page(request: Request) -> bool:
    """True for a browser's page request; the API and other clients get JSON."""
    api = request.url.path.startswith("/api/")
    return not api and "text/html" in request.headers.get("accept", "")


def answer(request: Request, status: int, detail: str) -> Response:
    """`detail` with `status`, as a page or as `{"detail": ...}`."""
    if not wants_page(request):
        return JSONResponse({"detail": detail}, status_code=status)
    templates = request.app.state.templates
    page = "login.html" if status == 401 else "error.html"
    context = {"status": status, "detail": detail, "next": _back(request), "principal": None}
    return templates.TemplateResponse(request, page, context, status_code=status)  # type: ignore[no-any-return]


def _back(request: Request) -> str:
    """Where the login form returns to: this page, with its filters but not a stale token."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "token"]
    return f"{request.url.path}?{urlencode(kept)}" if kept else request.url.path


async def unreachable(request: Request, error: Exception) -> Response:
    """The cluster or the registry did not answer in time: 503, saying which error."""
    return answer(request, 503, f"the cluster did not answer: {error}")


async def http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):
        raise error
    return answer(request, error.status_code, str(error.detail))


async def invalid_request(request: Request, error: Exception) -> Response:
    """A parameter of the wrong shape (a partition that is not a number): 400, naming it."""
    if not isinstance(error, RequestValidationError):
        raise error
    named = [f"{entry['loc'][-1]}: {entry['msg']}" for entry in error.errors() if entry.get("loc")]
    return answer(request, 400, "; ".join(named) or "malformed request")


async def bad_filter(request: Request, error: Exception) -> Response:
    if not isinstance(error, BadFilterError):
        raise error
    return answer(request, 400, str(error))
