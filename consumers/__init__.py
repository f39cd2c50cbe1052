"""Workers that run jobs from Kafka."""

__all__: list[str] = []
