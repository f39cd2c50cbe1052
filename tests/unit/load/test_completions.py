from pathlib import Path

from keel.load.completions import CompletionLog, read_completions
from keel.load.tail import CompletionTail


def test_lines_written_are_read_back(tmp_path: Path) -> None:
    log = CompletionLog(tmp_path / "w1.log")
    log.record("j1", "k1", 0, 100, 250)
    log.record("j2", "k2", 3, 110, 400)
    log.close()

    read = list(read_completions([tmp_path / "w1.log"]))

    assert [(r.completion.job_id, r.completion.seq, r.intended_ns) for r in read] == [
        ("j1", 0, 100),
        ("j2", 3, 110),
    ]
    assert read[1].completion.done_ns == 400


def test_a_line_torn_by_a_kill_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "w1.log"
    path.write_text("j1 k1 0 100 250\nj2 k2 1 1")

    assert [r.completion.job_id for r in read_completions([path])] == ["j1"]


def test_the_tail_returns_each_whole_line_once(tmp_path: Path) -> None:
    tail = CompletionTail(tmp_path)
    first = tmp_path / "a.log"
    first.write_text("j1 k1 0 100 250\nj2 k1 1 1")

    before = tail.read_new()
    with first.open("a") as log:
        log.write("00 300\n")
    (tmp_path / "b.log").write_text("j3 k2 0 100 260\n")
    after = tail.read_new()

    assert [r.completion.job_id for r in before] == ["j1"]
    assert sorted(r.completion.job_id for r in after) == ["j2", "j3"]
    assert tail.read_new() == []
