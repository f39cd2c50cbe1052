"""The service's own settings, read once from the environment (`SIGNUP_OUTBOX`)."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class SignupSettings(BaseSettings):
    """Where the stand-in mail service leaves the emails it sends."""

    model_config = SettingsConfigDict(env_prefix="SIGNUP_", frozen=True)

    outbox: Path = Path("outbox")
