"""Signing in from a browser: the login form sets the console's cookie; `/` goes to `/groups`."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import RedirectResponse

from keel.consumers.console.auth import COOKIE
from keel.consumers.console.errors import answer

router = APIRouter()
COOKIE_MAX_AGE_S = 12 * 3600


def set_cookie(response: Response, secret: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/groups", status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_form(request: Request, next: str = "/groups") -> Response:
    templates = request.app.state.templates
    context = {"status": 200, "detail": "", "next": _local(next), "principal": None}
    return templates.TemplateResponse(request, "login.html", context)  # type: ignore[no-any-return]


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/groups",
) -> Response:
    if request.app.state.tokens.holder(token) is None:
        return answer(request, status.HTTP_401_UNAUTHORIZED, "unknown token")
    response = RedirectResponse(_local(next), status.HTTP_303_SEE_OTHER)
    set_cookie(response, token, secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE)
    return response


def _local(target: str) -> str:
    """Only a path of this console: a login link must not send the browser elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/groups"
