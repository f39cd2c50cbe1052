from keel.load.config import RunConfig
from keel.load.run import _statuses


def test_without_the_status_cost_each_round_runs_keel_once_as_configured() -> None:
    assert [_statuses(RunConfig(scenario="noop"), n) for n in (1, 2)] == [(False,), (False,)]
    with_status = RunConfig(scenario="noop", status=True)
    assert [_statuses(with_status, n) for n in (1, 2)] == [(True,), (True,)]


def test_with_the_status_cost_each_round_runs_both_and_the_first_alternates() -> None:
    config = RunConfig(scenario="noop", status_cost=True)
    assert [_statuses(config, n) for n in (1, 2, 3)] == [
        (False, True),
        (True, False),
        (False, True),
    ]
