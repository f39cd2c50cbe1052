"""How the console is reached and who may use it (prefix `KEEL_CONSOLE_`).

Tokens come from `KEEL_CONSOLE_TOKENS` (JSON) or the file named by `KEEL_CONSOLE_TOKENS_FILE`
(the same JSON), each entry a name with its secret and role:

    {"alice": {"token": "…", "role": "operator"}, "grafana": {"token": "…", "role": "read"}}

The name is who a replay's ledger entry says asked for it; the secret is never shown.
"""

import json
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Role(StrEnum):
    """`read` sees every page; `operator` may also replay."""

    READ = "read"
    OPERATOR = "operator"


class TokenEntry(BaseModel):
    """One named token."""

    model_config = {"frozen": True}

    token: SecretStr = Field(min_length=16)
    role: Role


class ConsoleSettings(BaseSettings):
    """The console's settings, read once at start."""

    model_config = SettingsConfigDict(
        env_prefix="KEEL_CONSOLE_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    tokens: dict[str, TokenEntry] = Field(default_factory=dict)
    tokens_file: Path | None = None
    # A replay sends at most this many records a second: a console click must not flood the
    # workers with a million jobs at once.
    replay_rate: float = Field(default=100.0, gt=0)
    # Dead letters on one page of the list.
    page_size: int = Field(default=50, ge=1, le=1_000)
    # How long one page may wait for the cluster before it says so.
    timeout_s: float = Field(default=10.0, gt=0)

    def all_tokens(self) -> dict[str, TokenEntry]:
        """The tokens of the setting and of the file, the setting's winning on a name."""
        if self.tokens_file is None:
            return dict(self.tokens)
        found = json.loads(self.tokens_file.read_text())
        from_file = {name: TokenEntry.model_validate(entry) for name, entry in found.items()}
        return {**from_file, **self.tokens}
