"""A worker's start-up access check, judged from the broker's answers alone."""

from confluent_kafka import KafkaError
from confluent_kafka.admin._acl import AclOperation

from keel.consumers.permissions import Answer, Required, Resource, describe, refusals, required

READ, WRITE, DESCRIBE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE


def _needs() -> list[Required]:
    return required("billing", ["jobs"])


def test_a_worker_needs_its_group_topics_dead_letters_and_quarantine_topic() -> None:
    assert [(n.kind, n.name, n.operation, n.fatal) for n in _needs()] == [
        ("group", "billing", READ, True),
        ("topic", "jobs", READ, True),
        ("topic", "jobs.dlt", WRITE, False),
        ("topic", "keel.quarantine.billing", READ, False),
        ("topic", "keel.quarantine.billing", WRITE, False),
    ]


def test_every_grant_present_means_nothing_is_refused() -> None:
    answers: dict[Resource, Answer] = {
        ("group", "billing"): Answer(frozenset({READ, DESCRIBE})),
        ("topic", "jobs"): Answer(frozenset({READ, DESCRIBE})),
        ("topic", "jobs.dlt"): Answer(frozenset({WRITE})),
    }

    assert refusals(_needs(), answers) == []


def test_describe_alone_is_not_read() -> None:
    answers: dict[Resource, Answer] = {("topic", "jobs"): Answer(frozenset({DESCRIBE}))}

    (missing,) = refusals(_needs(), answers)

    assert describe(missing, answers["topic", "jobs"]) == "not authorized to Read topic jobs"


def test_an_authorization_error_is_a_refusal_named_with_its_code() -> None:
    answer = Answer(error=KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))

    (missing,) = refusals(_needs(), {("group", "billing"): answer})

    assert describe(missing, answer) == (
        "not authorized to Read group billing (GROUP_AUTHORIZATION_FAILED)"
    )


def test_what_the_broker_did_not_judge_passes() -> None:
    answers: dict[Resource, Answer] = {
        ("group", "billing"): Answer(allowed=None),  # no authorized operations reported
        ("topic", "jobs"): Answer(error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)),
    }

    assert refusals(_needs(), answers) == []


def test_all_allows_every_operation() -> None:
    answers: dict[Resource, Answer] = {("group", "billing"): Answer(frozenset({AclOperation.ALL}))}

    assert refusals(_needs(), answers) == []
