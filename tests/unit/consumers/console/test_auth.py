"""Tokens and roles: who a secret belongs to, and what each role may do over HTTP."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keel.consumers.console import ConsoleSettings, create_app
from keel.consumers.console.auth import COOKIE, TokenBook
from keel.consumers.console.settings import Role, TokenEntry
from keel.schemas.settings import ClusterSettings

OPERATOR = "operator-token-0123456789"
READER = "reader-token-0123456789"
TOKENS = {
    "alice": TokenEntry.model_validate({"token": OPERATOR, "role": "operator"}),
    "bob": TokenEntry.model_validate({"token": READER, "role": "read"}),
}


@pytest.fixture
def console() -> Iterator[TestClient]:
    # The cluster is never asked: every request here stops at the token check.
    cluster = ClusterSettings(kafka_bootstrap_servers="127.0.0.1:9")
    with TestClient(create_app(ConsoleSettings(tokens=TOKENS), cluster)) as client:
        yield client


def test_a_secret_names_its_holder_and_role() -> None:
    book = TokenBook(TOKENS)

    alice, bob = book.holder(OPERATOR), book.holder(READER)

    assert alice is not None
    assert (alice.name, alice.role, alice.may_replay) == ("alice", Role.OPERATOR, True)
    assert bob is not None
    assert (bob.name, bob.may_replay) == ("bob", False)
    assert book.holder("operator-token-012345678") is None
    assert book.holder("") is None


def test_tokens_come_from_a_file_and_the_setting_wins_on_a_name(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(
        '{"carol": {"token": "carol-token-0123456789", "role": "read"},'
        ' "alice": {"token": "old-alice-token-0123456789", "role": "read"}}'
    )
    settings = ConsoleSettings(tokens=TOKENS, tokens_file=path)

    found = settings.all_tokens()

    assert set(found) == {"alice", "bob", "carol"}
    assert found["alice"].role is Role.OPERATOR


def test_a_short_token_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="token"):
        TokenEntry.model_validate({"token": "short", "role": "read"})


def test_no_token_is_401_with_the_login_form_for_a_browser(console: TestClient) -> None:
    page = console.get("/dead-letters?topic=t&token=", headers={"Accept": "text/html"})
    api = console.get("/api/rates")

    assert page.status_code == 401
    assert 'id="login"' in page.text
    assert api.status_code == 401
    assert api.json() == {"detail": "a console token is required"}


def test_an_unknown_token_is_401(console: TestClient) -> None:
    answer = console.get("/api/rates", headers={"Authorization": "Bearer nobody-0123456789abc"})

    assert answer.status_code == 401


@pytest.mark.parametrize("path", ["/dead-letters/replay", "/dead-letters/replay/confirm"])
def test_a_read_token_may_not_replay(console: TestClient, path: str) -> None:
    answer = console.post(path, data={"topic": "t"}, headers={"Authorization": f"Bearer {READER}"})

    assert answer.status_code == 403
    assert answer.json() == {"detail": "this needs an operator token"}


def test_signing_in_sets_a_strict_http_only_cookie_and_returns_to_a_local_page(
    console: TestClient,
) -> None:
    answer = console.post(
        "/login", data={"token": READER, "next": "//elsewhere.example/"}, follow_redirects=False
    )
    refused = console.post("/login", data={"token": "nobody-0123456789abc"})

    assert answer.status_code == 303
    assert answer.headers["location"] == "/groups"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={READER};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert refused.status_code == 401


def test_a_token_in_the_link_is_kept_in_the_cookie(console: TestClient) -> None:
    answer = console.get(f"/login?token={READER}")
    unknown = console.get("/login?token=nobody-0123456789abc")

    assert answer.headers["set-cookie"].startswith(f"{COOKIE}={READER};")
    assert "set-cookie" not in unknown.headers


def test_root_redirects_to_groups(console: TestClient) -> None:
    answer = console.get("/", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/groups"


def test_a_malformed_parameter_is_400_naming_it(console: TestClient) -> None:
    auth = {"Authorization": f"Bearer {READER}"}

    page = console.get("/dead-letters?page=second", headers=auth)
    since = console.get("/api/dead-letters?since=soon", headers=auth)

    assert page.status_code == 400
    assert page.json()["detail"].startswith("page: ")
    assert since.status_code == 400
    assert since.json()["detail"].startswith("since: ")
