"""What a load job does when it runs: nothing, sleep (I/O-bound), burn CPU, or fail once.

The same `LoadHandler` runs inside keel's workers and inside the baseline loop, so the two are
compared on identical work. Failures are deterministic per job: a chosen fraction of jobs fail
their first attempt and succeed on the retry, so a run with failures still has a single right
answer for the oracle (nothing dead-lettered but the poison).
"""

import asyncio
import functools
import os
import time
import zlib
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel.load.collections_log import SUFFIX, CollectionLog
from keel.load.completions import CompletionLog
from keel.load.jobs import LoadJob
from keel.load.key_runs import Run

_BUCKETS = 10_000


class LoadProfile(BaseSettings):
    """The handler's behaviour, read once from `KEEL_LOAD_*` in each worker process."""

    model_config = SettingsConfigDict(env_prefix="KEEL_LOAD_", frozen=True, extra="ignore")

    sleep_ms: float = Field(default=0.0, ge=0)
    cpu_ms: float = Field(default=0.0, ge=0)
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    log_dir: Path | None = None


class InjectedFailure(Exception):  # noqa: N818 - a signal to retry, named for what it is
    """Raised on the first attempt of a job chosen to fail once."""


def job_identity(key: str, seq: int) -> str:
    """A load job is identified by its key and its place among that key's jobs."""
    return f"{key}:{seq}"


class LoadHandler:
    """Runs one load job per call and logs the run, failed or not, before returning."""

    def __init__(self, profile: LoadProfile) -> None:
        self.profile = profile
        self._log: CompletionLog | None = None
        self._collections: CollectionLog | None = None

    async def __call__(self, job: LoadJob, attempt: int = 1) -> None:
        started = time.time_ns()
        try:
            await self._work(job, attempt)
        except BaseException:  # cancelled by a drain deadline too: the run ended, unfinished
            self._record(job, attempt, started, ok=False)
            raise
        self._record(job, attempt, started, ok=True)

    async def _work(self, job: LoadJob, attempt: int) -> None:
        profile = self.profile
        if profile.failure_rate and attempt == 1 and _chosen(job, profile.failure_rate):
            raise InjectedFailure(f"{job_identity(job.key, job.seq)} fails its first attempt")
        if profile.cpu_ms:
            _burn(profile.cpu_ms)
        if profile.sleep_ms:
            await asyncio.sleep(profile.sleep_ms / 1000)

    def _record(self, job: LoadJob, attempt: int, started: int, *, ok: bool) -> None:
        identity = job_identity(job.key, job.seq)
        ended = time.time_ns()
        run = Run(identity, job.key, job.seq, started, ended, os.getpid(), attempt, ok)
        self._completion_log().record(run, job.intended_ns)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._collections is not None:
            self._collections.close()
            self._collections = None

    def _completion_log(self) -> CompletionLog:
        if self._log is None:
            directory = self.profile.log_dir or Path.cwd()
            directory.mkdir(parents=True, exist_ok=True)
            self._log = CompletionLog(directory / f"completions-{os.getpid()}.log")
            # The process's pauses, to lay against its slow jobs (`keel.load.stalls`).
            self._collections = CollectionLog(directory / f"collections-{os.getpid()}{SUFFIX}")
            self._collections.install()
        return self._log


@functools.cache
def default_handler() -> LoadHandler:
    """The process's handler, built on first use: settings are read then, not at import."""
    return LoadHandler(LoadProfile())


def _chosen(job: LoadJob, rate: float) -> bool:
    bucket = zlib.crc32(job_identity(job.key, job.seq).encode()) % _BUCKETS
    return bucket < rate * _BUCKETS


def _burn(millis: float) -> None:
    until = time.perf_counter() + millis / 1000
    while time.perf_counter() < until:
        pass
