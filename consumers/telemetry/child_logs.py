"""Log lines that say which supervised worker process wrote them.

Under `keel worker --processes N` the children share the pod's stderr; each child tags every
record with its index: `[child 2]` in the text format, a `child` field in the JSON one.
"""

import logging

from keel.consumers.telemetry.logs import LogFormat

CHILD_TEXT_FORMAT = "%(asctime)s %(levelname)s [child %(child)s] %(name)s %(message)s"


class ChildIndex(logging.Filter):
    """Adds `child` (the process's index under the supervisor) to each record."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def filter(self, record: logging.LogRecord) -> bool:
        record.child = self.index
        return True


def tag_child_logs(index: int, log_format: LogFormat) -> None:
    """Tag every record the root logger's handlers write (call after `configure_logging`)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(ChildIndex(index))
        if log_format == "text":  # JSON lines carry the record's extra fields by themselves
            handler.setFormatter(logging.Formatter(CHILD_TEXT_FORMAT))
