from pathlib import Path

from keel.load.completions import CompletionLog, read_completions
from keel.load.key_runs import Run
from keel.load.tail import CompletionTail


def test_lines_written_are_read_back(tmp_path: Path) -> None:
    runs = [
        Run("j1", "k1", 0, 200, 250, worker=41, attempt=1, ok=False),
        Run("j1", "k1", 0, 300, 350, worker=41, attempt=2),
        Run("j2", "k2", 3, 360, 400, worker=41),
    ]
    log = CompletionLog(tmp_path / "w1.log")
    for run, intended in zip(runs, (100, 100, 110), strict=True):
        log.record(run, intended)
    log.close()

    read = list(read_completions([tmp_path / "w1.log"]))

    assert [r.run for r in read] == runs
    assert [r.intended_ns for r in read] == [100, 100, 110]


def test_a_line_torn_by_a_kill_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "w1.log"
    path.write_text("j1 k1 0 100 200 250 7 1 ok\nj2 k2 1 100 300 350 7 1 o")

    assert [r.run.job_id for r in read_completions([path])] == ["j1"]


def test_the_tail_returns_each_whole_completion_once(tmp_path: Path) -> None:
    tail = CompletionTail(tmp_path)
    first = tmp_path / "a.log"
    first.write_text("j1 k1 0 100 200 250 7 1 ok\nj2 k1 1 100 260 2")

    before = tail.read_new()
    with first.open("a") as log:
        log.write("90 7 1 ok\n")
    (tmp_path / "b.log").write_text("j3 k2 0 100 200 260 8 1 ok\nj4 k2 1 100 270 280 8 1 failed\n")
    after = tail.read_new()

    assert [r.run.job_id for r in before] == ["j1"]
    assert sorted(r.run.job_id for r in after) == ["j2", "j3"]  # j4's run failed
    assert tail.read_new() == []
