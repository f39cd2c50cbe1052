"""Which observer hooks the engine calls: the ones some observer acts on, on every attempt."""

from keel.consumers import App, Context, Retry
from keel.consumers.pipeline.observer import (
    Attempt,
    NoObserver,
    Observers,
    ended_hook,
    observers,
    observes,
    started_hook,
)
from keel.consumers.pipeline.records import Message
from keel.consumers.telemetry.metrics import Metrics
from keel.consumers.testing import InMemoryWorker
from keel.schemas.job import Job
from tests.support.jobs import catalog_of


class Ping(Job):
    n: int


class StartWatch(NoObserver):
    """Notes the attempt number of every start it is told of."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def attempt_started(self, record: Message, context: Context) -> None:
        self.started.append(context.attempt)


class OwnObserver:
    """Implements the hooks itself, without `NoObserver`: nothing is known of what they do."""

    scoped = False


def test_a_hook_left_as_the_no_op_is_not_observed() -> None:
    assert not observes(NoObserver(), "attempt_started")
    assert not observes(Metrics(), "attempt_started")
    assert observes(Metrics(), "attempt_ended")
    assert observes(StartWatch(), "attempt_started")
    assert observes(OwnObserver(), "attempt_started")  # type: ignore[arg-type]


def test_several_observers_act_on_a_hook_when_any_of_them_does() -> None:
    assert not observes(Observers([Metrics(), NoObserver()]), "attempt_started")
    assert observes(Observers([Metrics(), StartWatch()]), "attempt_started")


async def test_an_observer_of_starts_hears_every_attempt_beside_one_that_ignores_them() -> None:
    # Given metrics, which ignore starts, and a watch of starts, and a job that fails once
    watch = StartWatch()
    app = App("test", catalog=catalog_of(Ping))

    @app.handler(Ping)
    async def ping(job: Ping, ctx: Context) -> None:
        if job.n == 1 and ctx.attempt == 1:
            raise Retry(after=0.01)

    worker = InMemoryWorker(app, observer=observers([Metrics(), watch]))
    for n in range(3):
        worker.send(Ping(n=n), key=str(n).encode())
    # When the three jobs run, one of them twice
    await worker.run_until_idle()
    await worker.close()
    # Then the watch was told of all four attempts
    assert sorted(watch.started) == [1, 1, 1, 2]


def test_the_one_observer_of_starts_among_several_is_called_directly() -> None:
    watch = StartWatch()
    assert started_hook(Observers([Metrics(), watch])) == watch.attempt_started
    assert started_hook(Observers([Metrics(), NoObserver()])) is None
    assert started_hook(Metrics()) is None
    both = Observers([watch, StartWatch()])
    assert started_hook(both) == both.attempt_started  # two: the fan-out calls each


class EndWatch(NoObserver):
    """Notes every end it is told of, with the name it was given."""

    def __init__(self, name: str, heard: list[tuple[str, str, str]]) -> None:
        self.name = name
        self.heard = heard

    def attempt_ended(
        self,
        job_type: str,
        outcome: str,
        seconds: float,
        record: Attempt | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.heard.append((self.name, job_type, outcome))


def test_the_observers_of_ends_are_each_called_in_order_once() -> None:
    for count in (1, 2, 3):
        heard: list[tuple[str, str, str]] = []
        watches = [EndWatch(str(n), heard) for n in range(count)]
        hook = ended_hook(Observers([StartWatch(), *watches]))
        hook("svc.T", "processed", 0.1, None, None)
        assert heard == [(str(n), "svc.T", "processed") for n in range(count)]
    metrics = Metrics()
    assert ended_hook(metrics) == metrics.attempt_ended  # one observer: its own method
