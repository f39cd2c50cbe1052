"""The attempts bench runs every attempt it starts to its report, for both handlers."""

import asyncio

import pytest

from keel.load import attempts_bench


@pytest.mark.timeout(30)
@pytest.mark.parametrize("suspends", [False, True])
def test_every_attempt_reports_and_its_cost_is_measured(suspends: bool) -> None:
    steps: list[str] = []

    async def returns() -> None:
        steps.append("ran")

    async def sleeps() -> None:
        await asyncio.sleep(0)
        steps.append("ran")

    spent = attempts_bench.cpu_per_attempt(sleeps if suspends else returns, 1_200)

    assert steps == ["ran"] * 1_200
    assert spent > 0
