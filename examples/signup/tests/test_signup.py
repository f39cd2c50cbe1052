"""Sign up through the endpoint; the worker, in its own process, sends the welcome email."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from signup.api import create_app


def _post(body: dict[str, str]) -> httpx.Response:
    app = create_app()

    async def call() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://signup") as client:
                return await client.post("/users", json=body)

    return asyncio.run(call())


def _wait_for(path: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.2)
    return path.read_text()


def test_sign_up_sends_the_welcome_email(
    outbox: Path, routes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_ROUTES", routes)

    response = _post({"email": "ada@example.com", "name": "Ada"})

    assert response.status_code == 201, response.text
    letter = _wait_for(outbox / f"{response.json()['user_id']}.txt")
    assert letter == "To: ada@example.com\n\nWelcome, Ada!\n"


def test_an_invalid_sign_up_is_refused(routes: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_ROUTES", routes)

    response = _post({"email": "not-an-address", "name": "Ada"})

    assert response.status_code == 422
