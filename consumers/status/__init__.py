"""Job status and results, from the worker's side (docs/status.md).

    results   a tracked handler's return value, kept for the job's `done` status
    recorder  StatusRecorder: the observer that writes each transition of a tracked job to the
              status topic, through a producer of its own that batches and is never awaited

The record, the topic settings and which types are tracked are in `keel.schemas.status`.
"""
