"""The load harness: throughput, latency and correctness against a real broker."""

__all__: list[str] = []
