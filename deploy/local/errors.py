"""Why the local stack could not do what it was asked.

StackError
├── MissingToolError   no Java 21+, or no Maven, with how to get it
├── DownloadError      Maven Central could not supply the jars; the cache is left as it was
├── PortInUseError     a port the stack needs is taken, and by what
├── StaleDataDirError  the data directory belongs to another Kafka cluster
└── ServerStartError   a server died or never became ready; carries its last log lines
"""


class StackError(Exception):
    """Base of every error the local stack raises; its message is meant for a person."""


class MissingToolError(StackError):
    """A program the stack needs is not installed."""


class DownloadError(StackError):
    """Fetching the Kafka or registry artifacts failed."""


class PortInUseError(StackError):
    """A port the stack needs is already bound by another process."""


class StaleDataDirError(StackError):
    """The data directory was formatted for a different cluster."""


class ServerStartError(StackError):
    """A server process exited during start, or did not become ready in time."""
