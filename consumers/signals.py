"""What a handler may raise to tell the runtime what to do with its job.

    BaseException
    └── Exception
        ├── Retry      run this job again later (after `after` seconds, or the policy's backoff)
        ├── Reject     this job can never succeed: dead-letter it now, with `reason`
        └── JobTimeout raised by the runtime when a handler overran its time limit

Any other exception is a failure that the job type's `RetryPolicy` classifies as retryable or
fatal. Handlers signal; the runtime decides (a `Retry` beyond the policy's attempts still ends in
the dead-letter topic).
"""


class Retry(Exception):  # noqa: N818 - a signal, named for what the handler asks for
    """Ask for another attempt, `after` seconds from now (None: the policy's backoff)."""

    def __init__(self, after: float | None = None, reason: str = "retry requested") -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


class Reject(Exception):  # noqa: N818 - a signal, named for what the handler asks for
    """Refuse the job for good: it goes to the dead-letter topic without further attempts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobTimeout(Exception):  # noqa: N818 - a signal like Retry and Reject
    """The handler ran past its job type's time limit."""
