"""Publishing typed jobs to Kafka."""

__all__: list[str] = []
