"""A worker resolves its job types' schemas before its first poll, as far as the registry can."""

from keel.consumers.reader_warm_up import warm_readers
from keel.schemas.errors import RegistryUnavailableError
from keel.schemas.job import Job


class _Welcome(Job):
    email: str


class _Invoice(Job):
    number: int


class _Codec:
    """Answers `warm` from a table of (type, topic) the registry holds; may be unreachable."""

    def __init__(self, registered: set[tuple[type, str]], *, reachable: bool = True) -> None:
        self.registered = registered
        self.reachable = reachable
        self.asked: list[tuple[type, str]] = []

    def warm(self, model: type[Job], topic: str) -> bool:
        self.asked.append((model, topic))
        if not self.reachable:
            raise RegistryUnavailableError("no answer")
        return (model, topic) in self.registered


def _warm(codec: _Codec, models: list[type], topics: list[str]) -> int:
    return warm_readers(codec, models, topics)


def test_every_handled_job_type_is_looked_up_on_every_topic() -> None:
    codec = _Codec({(_Welcome, "mail"), (_Invoice, "billing")})
    assert _warm(codec, [_Welcome, _Invoice], ["mail", "billing"]) == 2
    assert sorted((m.__name__, t) for m, t in codec.asked) == [
        ("_Invoice", "billing"),
        ("_Invoice", "mail"),
        ("_Welcome", "billing"),
        ("_Welcome", "mail"),
    ]


def test_handled_models_that_are_not_jobs_are_not_looked_up() -> None:
    codec = _Codec(set())
    assert _warm(codec, [dict, _Welcome], ["mail"]) == 0
    assert codec.asked == [(_Welcome, "mail")]


def test_a_registry_that_does_not_answer_ends_the_warm_up_without_failing_the_worker() -> None:
    codec = _Codec(set(), reachable=False)
    assert _warm(codec, [_Welcome, _Invoice], ["mail", "billing"]) == 0
    assert codec.asked == [(_Welcome, "mail")]  # one timeout, not one per pair
