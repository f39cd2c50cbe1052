"""The worker's collector settings: frozen start-up heap, a higher first-generation threshold."""

import gc
from collections.abc import Iterator

import pytest

from keel.consumers import collector


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_tuning_freezes_the_start_up_heap_and_raises_the_first_threshold() -> None:
    gc.unfreeze()
    _, second, third = gc.get_threshold()

    collector.tune(10_000)

    assert gc.get_threshold() == (10_000, second, third)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored")
def test_a_threshold_at_pythons_default_or_below_changes_nothing() -> None:
    gc.unfreeze()
    before = gc.get_threshold()

    collector.tune(collector.PYTHON_DEFAULT)
    collector.tune(0)

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
