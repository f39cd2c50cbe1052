"""Bytes to a typed job, or to a poison record: never an exception into the loop.

A record that cannot become a job (wrong magic byte, unknown schema id, truncated Avro, an
invalid job, an ordered job type without a key) is *poison*: retrying it cannot help, so it goes
straight to the dead-letter topic with the decoder's machine-readable reason.

One failure is not the record's fault: the schema registry not answering about a new schema id.
Such a record is `Unavailable`, and the engine decodes it again later instead of dead-lettering
a job that may be fine.
"""

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

MISSING_KEY = "missing-key"
UNDECODABLE = "undecodable"


class JobDecoder(Protocol):
    """Turns a record value into a job; raises an error with a `reason` when it cannot."""

    def decode(self, value: bytes | None) -> BaseModel: ...


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that can never become a job, and why."""

    reason: str
    error_class: str
    message: str
    traceback: str


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The record could not be decoded *yet* (the registry did not answer): try again later."""

    message: str


class DecodeStage:
    """Decodes a value and checks the key rule of its job type."""

    __slots__ = ("_decode", "_ordered", "_transient")

    def __init__(
        self,
        decoder: JobDecoder,
        is_ordered: Callable[[type[BaseModel]], bool],
        transient: tuple[type[Exception], ...] = (),
    ) -> None:
        self._decode = decoder.decode
        self._ordered = is_ordered
        self._transient = transient

    def __call__(self, value: bytes | None, key: bytes | None) -> BaseModel | Poison | Unavailable:
        try:
            job = self._decode(value)
        except self._transient as error:
            return Unavailable(str(error))
        except Exception as error:  # any other failure to decode is poison, by design
            return poison(getattr(error, "reason", UNDECODABLE), error)
        if key is None and self._ordered(type(job)):
            message = f"{type(job).__name__} is ordered by key and the record has none"
            return Poison(MISSING_KEY, "keel.consumers.MissingKey", message, "")
        return job


def poison(reason: str, error: BaseException) -> Poison:
    """A poison record for `error`, with its class, message and traceback."""
    return Poison(
        str(reason),
        qualified_name(type(error)),
        str(error),
        "".join(traceback.format_exception(error)),
    )


def qualified_name(kind: type) -> str:
    """`module.Class`, as the dead-letter headers name an error class."""
    return f"{kind.__module__}.{kind.__qualname__}"
