"""The pod's health under `--processes N`: every child's answers, aggregated."""

import json
import logging
import time

from keel.consumers.telemetry.child_logs import tag_child_logs
from keel.consumers.telemetry.logs import configure_logging
from keel.consumers.telemetry.pod_health import SILENT_AFTER_S, ChildState, PodHealth

CHILD_METRICS = """# HELP keel_jobs_processed_total Jobs processed.
# TYPE keel_jobs_processed_total counter
keel_jobs_processed_total{job_type="a.B"} %d.0
# HELP keel_job_duration_seconds Handler time.
# TYPE keel_job_duration_seconds histogram
keel_job_duration_seconds_bucket{job_type="a.B",le="+Inf"} %d.0
keel_job_duration_seconds_sum{job_type="a.B"} 0.5
keel_job_duration_seconds_count{job_type="a.B"} %d.0
"""


def child(index: int, *, live: bool | None = True, ready: bool = True, done: int = 0) -> ChildState:
    return ChildState(
        index, 9000 + index, pid=100 + index, live=live, ready=ready,
        metrics=CHILD_METRICS % (done, done, done), live_at=time.monotonic(),
    )  # fmt: skip


def test_the_pod_is_ready_only_when_every_child_is() -> None:
    assert PodHealth([child(0), child(1)]).ready().ok
    assert not PodHealth([child(0), child(1, ready=False)]).ready().ok


def test_a_stuck_child_fails_liveness_but_a_restarting_one_does_not() -> None:
    restarting = child(1, live=None)
    restarting.gone()
    assert PodHealth([child(0), restarting]).live().ok
    probe = PodHealth([child(0), child(1, live=False)]).live()
    assert not probe.ok
    assert probe.detail["stuck_children"] == [1]


def test_a_running_child_silent_for_too_long_fails_liveness() -> None:
    silent = child(1, live=None)  # it stopped answering (SIGSTOP, or too stuck to serve)
    silent.live_at = time.monotonic() - SILENT_AFTER_S - 1
    probe = PodHealth([child(0), silent]).live()
    assert not probe.ok
    assert probe.detail["stuck_children"] == [1]
    silent.live_at = time.monotonic() - SILENT_AFTER_S + 5  # silent, but not for that long yet
    assert PodHealth([child(0), silent]).live().ok


def test_metrics_carry_each_childs_samples_under_its_label_and_the_restarts() -> None:
    restarted = child(1, done=5)
    restarted.restarts = 2
    text = PodHealth([child(0, done=3), restarted]).render()
    assert 'keel_jobs_processed_total{child="0",job_type="a.B"} 3.0' in text
    assert 'keel_jobs_processed_total{child="1",job_type="a.B"} 5.0' in text
    assert 'keel_job_duration_seconds_count{child="1",job_type="a.B"} 5.0' in text
    assert 'keel_worker_child_restarts_total{child="1"} 2.0' in text
    assert text.count("# TYPE keel_jobs_processed_total counter") == 1


def test_child_log_lines_say_which_child_wrote_them() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("text", "INFO")
    try:
        tag_child_logs(2, "text")
        handler = logging.getLogger().handlers[0]
        record = logging.LogRecord("keel.x", logging.INFO, __file__, 1, "hello", None, None)
        assert handler.filter(record)
        assert "[child 2] keel.x hello" in handler.format(record)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def test_child_json_log_lines_carry_a_child_field() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("json", "INFO")
    try:
        tag_child_logs(1, "json")
        handler = logging.getLogger().handlers[0]
        record = logging.LogRecord("keel.x", logging.INFO, __file__, 1, "hello", None, None)
        assert handler.filter(record)
        line = json.loads(handler.format(record))
        assert (line["child"], line["message"]) == (1, "hello")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
