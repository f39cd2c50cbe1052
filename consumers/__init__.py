"""Workers that run jobs from Kafka: per-key order, commits only after success, dead letters.

    from keel.consumers import App, Context, Retry, Reject

The machinery lives in `keel.consumers.pipeline` (one module per stage); handlers never import it.
"""

from keel.consumers.app import App
from keel.consumers.context import Context
from keel.consumers.pipeline.retry import RetryPolicy
from keel.consumers.settings import WorkerSettings
from keel.consumers.signals import JobTimeout, Reject, Retry

__all__ = ["App", "Context", "JobTimeout", "Reject", "Retry", "RetryPolicy", "WorkerSettings"]
