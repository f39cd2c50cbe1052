"""Who is asking: a token from `Authorization: Bearer`, the console's cookie, or `?token=`.

A token is compared in constant time with each configured one. No token, or an unknown one:
401 (a browser gets the login form). A known token whose role is too low for the route: 403.
The browser's cookie is `HttpOnly` and `SameSite=Strict`, so another site's page cannot post
a replay with it.
"""

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

from keel.consumers.console.settings import Role, TokenEntry

COOKIE = "keel_console_token"
QUERY = "token"


@dataclass(frozen=True)
class Principal:
    """A token's holder: its name (for the audit trail) and its role."""

    name: str
    role: Role

    @property
    def may_replay(self) -> bool:
        return self.role is Role.OPERATOR


class TokenBook:
    """The configured tokens, looked up by their secret."""

    def __init__(self, tokens: Mapping[str, TokenEntry]) -> None:
        self._tokens = [(name, entry) for name, entry in sorted(tokens.items())]

    def __len__(self) -> int:
        return len(self._tokens)

    def holder(self, secret: str) -> Principal | None:
        """The principal whose token is `secret`, or None."""
        found = None
        for name, entry in self._tokens:
            if hmac.compare_digest(entry.token.get_secret_value().encode(), secret.encode()):
                found = Principal(name, entry.role)
        return found


def presented(request: Request) -> str | None:
    """The token a request carries: header first, then the query, then the cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.query_params.get(QUERY) or request.cookies.get(COOKIE)


def requires(role: Role) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the caller's principal, if its role allows `role`'s routes."""

    def check(request: Request) -> Principal:
        book: TokenBook = request.app.state.tokens
        secret = presented(request)
        principal = book.holder(secret) if secret else None
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a console token is required")
        if role is Role.OPERATOR and not principal.may_replay:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an operator token")
        return principal

    return check


reader = requires(Role.READ)
operator = requires(Role.OPERATOR)
