"""Workers that run jobs from Kafka."""

from consumers.signals import Reject, Retry

__all__ = ["Reject", "Retry"]
