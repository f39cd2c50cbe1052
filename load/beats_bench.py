"""What worker heartbeats cost: `python -m keel.load.beats_bench`.

The no-op worker benchmark (`worker_bench.keel_rate`: a keel worker with a no-op async handler
reading the same topic from its start, a new group each round) with beats off, and with beats
on at `--interval` seconds (0.1 by default: fifty times as often as the default 5 s, to make any
cost visible), in alternating rounds so that the machine's drift hits both alike. Prints each
round and the ratio of the medians; asserts nothing.
"""

import argparse
import asyncio
import statistics
import uuid

from keel.load.worker_bench import cluster, keel_rate, publish
from keel.schemas.beats import BeatSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    arms = {
        "off": BeatSettings(enabled=False),
        "on": BeatSettings(interval=args.interval, topic=f"bench-workers-{uuid.uuid4().hex[:8]}"),
    }
    rates: dict[str, list[float]] = {name: [] for name in arms}
    with cluster() as settings:
        topic = f"bench-beats-{uuid.uuid4().hex[:8]}"
        publish(settings, topic, args.jobs, 500)
        for round_ in range(args.rounds):
            for name, beats in arms.items():
                rate = asyncio.run(keel_rate(settings, topic, args.jobs, 0.0, 500, beats=beats))
                rates[name].append(rate)
                print(f"round {round_ + 1} beats {name:<3}: {rate:,.0f} jobs/s", flush=True)
    off, on = (statistics.median(rates[name]) for name in ("off", "on"))
    print(f"median: off {off:,.0f} jobs/s, on every {args.interval} s {on:,.0f} jobs/s")
    print(f"on / off: {on / off:.3f}")


if __name__ == "__main__":
    main()
