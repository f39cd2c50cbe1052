"""The supervisor's pure decisions: restart backoff, the drain bound, each child's command."""

import sys

import pytest

from keel.consumers.settings import WorkerSettings
from keel.consumers.supervisor import (
    CLOSE_MARGIN_S,
    MAX_RESTART_DELAY_S,
    child_command,
    child_settings,
    restart_delay,
    shutdown_bound,
)


@pytest.mark.parametrize(
    ("quick_deaths", "delay"),
    [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, MAX_RESTART_DELAY_S), (50, 30.0)],
)
def test_restart_delay_doubles_with_each_quick_death_up_to_a_ceiling(
    quick_deaths: int, delay: float
) -> None:
    assert restart_delay(quick_deaths) == delay


def test_a_child_has_the_shutdown_timeout_then_is_reaped() -> None:
    settings = WorkerSettings(shutdown_timeout=7.0)
    assert shutdown_bound(settings) == 7.0 + CLOSE_MARGIN_S


def test_a_child_is_an_ordinary_worker_told_its_index_and_health_port() -> None:
    command = child_command("svc.jobs:app", 3, 4567, "DEBUG")
    assert command[0] == sys.executable
    assert command[1:] == [
        *("-m", "keel", "worker", "svc.jobs:app"),
        *("--child", "3", "--child-health-port", "4567", "--log-level", "DEBUG"),
    ]


def test_a_child_serves_health_on_loopback_only_on_its_own_port() -> None:
    settings = child_settings(WorkerSettings(health_host="10.0.0.7", health_port=8080), 1, 4567)
    assert (settings.health_host, settings.health_port) == ("127.0.0.1", 4567)


def test_each_child_of_a_static_member_gets_an_instance_id_of_its_own() -> None:
    pod = WorkerSettings(group_instance_id="keel-worker-0")
    assert child_settings(pod, 0, 1).group_instance_id == "keel-worker-0-0"
    assert child_settings(pod, 1, 2).group_instance_id == "keel-worker-0-1"
    assert child_settings(WorkerSettings(), 1, 2).group_instance_id is None


def test_each_child_knows_its_slot_for_its_heartbeats() -> None:
    assert WorkerSettings().child is None
    assert child_settings(WorkerSettings(), 3, 2).child == 3
