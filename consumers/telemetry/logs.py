"""Log lines that say which job they are about: JSON or text, with the job's ids and trace.

`configure_logging` installs one handler on the root logger. Its `JobFields` filter adds, to
every record logged while a job attempt runs (by the handler through `ctx.logger` or plain
`logging`, or by keel about that job), the fields `job_id`, `job_type`, `attempt`, and, when
tracing is on, `trace_id` and `span_id` of the attempt's span, spelled as W3C trace context
spells them (32 and 16 hex digits), so a log search and a trace view meet on the same id.

The job comes from a context variable that the `JobLogContext` observer sets in each attempt's own
context (see `keel.consumers.pipeline.observer`): nothing is passed through handler code, and
nothing is set at all while the text format is chosen, which is the cheap default for a terminal.
The JSON format is python-json-logger's, one object per line.
"""

import logging
import sys
from contextvars import ContextVar
from typing import IO, Literal

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from keel.consumers.context import Context
from keel.consumers.pipeline.observer import NoObserver
from keel.consumers.pipeline.records import Message

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "{asctime}{levelname}{name}{message}"

_JOB: ContextVar[Context | None] = ContextVar("keel_job", default=None)


class JobFields(logging.Filter):
    """Adds the running job's ids and its trace to each record (fields already set win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _JOB.get()
        if job is not None:
            for name, value in job.log_fields().items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        return True


class JobLogContext(NoObserver):
    """The observer that makes each attempt's job known to `JobFields`."""

    scoped = True

    def attempt_scope(self, record: Message, context: Context) -> None:
        _JOB.set(context)


def log_handler(log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing `log_format` lines to `stream` (stderr), with the job fields added."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(JobFields())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(log_format: LogFormat, level: str) -> None:
    """Route every log record through one `log_handler` on the root logger."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler(log_format)]
    root.setLevel(level.upper())
