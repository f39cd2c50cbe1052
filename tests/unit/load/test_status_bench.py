"""The status micro-benchmark drives the real recorder: every job it ends is found as done."""

from keel.consumers.pipeline.observer import ended_hook
from keel.load.status_bench import JOB_TYPE, KeptProducer, attempts, ends, recorder
from keel.schemas.headers import JOB_ID
from keel.schemas.status.record import BATCH_PREFIX, find


def test_every_ended_job_reaches_the_producer_as_done_in_a_window_batch() -> None:
    producer = KeptProducer()
    status = recorder(producer)
    ended = attempts(250)
    ends(ended_hook(status), ended, 100, status.send)
    assert len(producer.values) >= 3  # a send per window, a batch per partition with jobs
    for attempt in ended:
        job_id = dict(attempt.message.headers() or [])[JOB_ID].decode()
        found = [find(BATCH_PREFIX + b"bench", value, job_id) for value in producer.values]
        states = [(s.state, s.job_type, s.attempt) for s in found if s is not None]
        assert states == [("done", JOB_TYPE, 1)]
