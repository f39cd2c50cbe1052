"""Worker heartbeats: what each worker process runs now, published to Kafka for operators.

Workers are pods nobody can reach, so each process tells a compacted topic (`keel.workers`,
`keel.schemas.beats.BeatSettings`) what it runs, every few seconds:

    beat        the record: `WorkerId` key, `Beat` value (running, buffered, partitions,
                counters and the previous beat's, so one record gives rates)
    heartbeat   the worker's side: a task that reads the metrics snapshot and produces a beat,
                and a tombstone on a clean stop
    reader      `read_workers`: the latest beat per worker, its age, live or gone
    cli         `keel workers [--group G] [--json]`

Nothing here runs per job; the counts are the ones `telemetry.metrics` already keeps.
"""

from keel.consumers.beats.beat import Beat, WorkerId
from keel.consumers.beats.reader import WorkerView, read_workers

__all__ = ["Beat", "WorkerId", "WorkerView", "read_workers"]
