"""The contract between producers and workers: job schemas, their codec, and where they live."""

from schemas.settings import ClusterSettings

__all__ = ["ClusterSettings"]
