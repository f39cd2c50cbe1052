"""What worker heartbeats cost: `python -m keel.load.beats_bench`.

The no-op worker benchmark (`worker_bench.keel_rate`: a keel worker with a no-op async handler
reading the same topic from its start, a new group each round) with beats off, and with beats
on at `--interval` seconds (0.1 by default: fifty times as often as the default 5 s, to make any
cost visible), in alternating rounds so that the machine's drift hits both alike. Prints each
round and the ratio of the medians; asserts nothing.

`--per-beat` measures instead what one beat costs the worker's event loop (the metrics snapshot
of a worker with 20 job types, the record, and `produce` into librdkafka's queue), without a
broker: the figure against the 5 s interval is the share of one core that beats take.
"""

import argparse
import asyncio
import statistics
import time
import uuid

from keel.consumers.beats.heartbeat import Heartbeat, this_process
from keel.consumers.pipeline.observer import PROCESSED
from keel.consumers.telemetry.metrics import Metrics, Readings
from keel.load.topics import delete_topics
from keel.load.worker_bench import cluster, keel_rate, publish
from keel.schemas import clients
from keel.schemas.beats import BeatSettings
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic

BEATS_MEASURED = 20_000


def per_beat_seconds() -> float:
    """Seconds one `Heartbeat.beat()` takes on the loop, with a producer that never connects."""
    metrics = Metrics().bound(
        Readings(time_lag=lambda: {("jobs", p): 0.0 for p in range(8)}, running=lambda: 50)
    )
    for n in range(20):
        metrics.attempt_ended(f"jobs.Type{n}", PROCESSED, 0.01)
    nowhere = ClusterSettings(kafka_bootstrap_servers="127.0.0.1:1")
    producer = clients.producer(nowhere, {"queue.buffering.max.messages": 2 * BEATS_MEASURED})
    worker = this_process("bench", None)
    heartbeat = Heartbeat(BeatSettings(), nowhere, worker, metrics.snapshot, producer=producer)
    started = time.perf_counter()
    for _ in range(BEATS_MEASURED):
        heartbeat.beat()
    seconds = (time.perf_counter() - started) / BEATS_MEASURED
    producer.purge()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--per-beat", action="store_true")
    args = parser.parse_args()
    if args.per_beat:
        each = per_beat_seconds()
        share = each / BeatSettings().interval
        print(f"one beat: {each * 1e6:.1f} us on the loop; every 5 s: {share:.2e} of one core")
        return
    arms = {
        "off": BeatSettings(enabled=False),
        "on": BeatSettings(interval=args.interval, topic=f"bench-workers-{uuid.uuid4().hex[:8]}"),
    }
    rates: dict[str, list[float]] = {name: [] for name in arms}
    with cluster() as settings:
        topic = f"bench-beats-{uuid.uuid4().hex[:8]}"
        try:
            publish(settings, topic, args.jobs, 500)
            for round_ in range(args.rounds):
                for name, beats in arms.items():
                    rate = asyncio.run(keel_rate(settings, topic, args.jobs, 0.0, 500, beats=beats))
                    rates[name].append(rate)
                    print(f"round {round_ + 1} beats {name:<3}: {rate:,.0f} jobs/s", flush=True)
        finally:
            delete_topics(settings, [topic, dead_letter_topic(topic), arms["on"].topic])
    off, on = (statistics.median(rates[name]) for name in ("off", "on"))
    print(f"median: off {off:,.0f} jobs/s, on every {args.interval} s {on:,.0f} jobs/s")
    print(f"on / off: {on / off:.3f}")


if __name__ == "__main__":
    main()
