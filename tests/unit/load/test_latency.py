from keel.load.latency import LatencyRecorder


def test_percentiles_come_from_intended_send_time() -> None:
    recorder = LatencyRecorder()
    for millis in range(1, 1001):
        intended = 1_000_000_000
        recorder.record_ns(intended, intended + millis * 1_000_000)

    summary = recorder.summary()

    assert summary.count == 1000
    assert 495 <= summary.p50_ms <= 505
    assert 985 <= summary.p99_ms <= 995
    assert 999 <= summary.max_ms <= 1001


def test_recorders_of_several_workers_merge() -> None:
    one, two = LatencyRecorder(), LatencyRecorder()
    one.record_ns(0, 2_000_000)
    two.record_ns(0, 8_000_000)

    one.add(two)

    assert one.summary().count == 2
    assert 7.9 <= one.summary().max_ms <= 8.1
