"""Workers that run jobs from Kafka: per-key order, commits only after success, dead letters.

    from consumers import App, Context, Retry, Reject

The machinery lives in `consumers.pipeline` (one module per stage); handlers never import it.
"""

from consumers.app import App
from consumers.context import Context
from consumers.pipeline.retry import RetryPolicy
from consumers.settings import WorkerSettings
from consumers.signals import JobTimeout, Reject, Retry

__all__ = ["App", "Context", "JobTimeout", "Reject", "Retry", "RetryPolicy", "WorkerSettings"]
