"""What a worker must be allowed, asked of the broker before it subscribes.

Kafka's authorizer refuses quietly: a consumer without Read on its group retries the join for
as long as it lives, and one without Describe on its topic is simply assigned nothing; either way
the worker idles and looks alive. So at start the worker asks which operations its principal has
on its group and topics (DescribeGroups / DescribeTopics with authorized operations, which any
principal may ask about itself) and stops with one line per missing grant:

    not authorized to Read group billing-workers (GROUP_AUTHORIZATION_FAILED)
    not authorized to Read topic jobs.invoice

Write on a dead-letter topic is only warned about: every job that succeeds still runs, and the
first poison record holds its partition, fails readiness and names the topic then. So are Read
and Write on the group's quarantine topic (`keel.quarantine.<group>`): without Read a new owner
cannot see which keys are held, and without Write the first dead letter of a keyed job holds its
partition until the grant comes.
A broker that does not report authorized operations, or a topic that does not exist yet, is not
judged here: the worker's own start reports those.
"""

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient

# The typed module behind confluent_kafka.admin's untyped re-export.
from confluent_kafka.admin._acl import AclOperation

from keel.schemas import clients
from keel.schemas.access import not_authorized
from keel.schemas.errors import AuthorizationError
from keel.schemas.settings import ClusterSettings
from keel.schemas.topics import dead_letter_topic, quarantine_topic

_LOG = logging.getLogger(__name__)
_TIMEOUT_S = 10.0
_RETRY_S = 0.2
_ATTEMPTS = 10  # a group's coordinator may still be loading right after the broker started
# Operations that include Describe (Kafka's authorizer grants Describe with any of them).
_IMPLIES_DESCRIBE = {AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER}

Kind = Literal["topic", "group"]
Resource = tuple[Kind, str]


@dataclass(frozen=True)
class Required:
    """One operation the worker needs on one resource; `fatal` if it cannot start without it."""

    kind: Kind
    name: str
    operation: AclOperation
    fatal: bool = True


@dataclass(frozen=True)
class Answer:
    """What the broker said about one resource: the operations allowed, or its error."""

    allowed: frozenset[AclOperation] | None = None
    error: KafkaError | None = None


def required(group: str, topics: Iterable[str]) -> list[Required]:
    """Read on the group and on each topic; Write on each topic's dead-letter topic; Read and
    Write on the group's quarantine topic."""
    state = quarantine_topic(group)
    needs = [Required("group", group, AclOperation.READ)]
    for topic in topics:
        needs.append(Required("topic", topic, AclOperation.READ))
        needs.append(Required("topic", dead_letter_topic(topic), AclOperation.WRITE, False))
    needs.append(Required("topic", state, AclOperation.READ, False))
    needs.append(Required("topic", state, AclOperation.WRITE, False))
    return needs


def refusals(needs: Iterable[Required], answers: Mapping[Resource, Answer]) -> list[Required]:
    """The needs the broker's answers show to be missing; unknown or unjudged ones pass."""
    return [need for need in needs if _refused(need, answers.get((need.kind, need.name)))]


def describe(need: Required, answer: Answer | None) -> str:
    """The line that names `need`'s missing operation and resource."""
    code = answer.error.name() if answer is not None and answer.error is not None else None
    return not_authorized(need.operation.name.capitalize(), need.kind, need.name, code)


def check_worker_access(cluster: ClusterSettings, group: str, topics: Iterable[str]) -> None:
    """Raise `AuthorizationError` naming every missing grant the worker cannot run without;
    log the dead-letter ones."""
    needs = required(group, topics)
    answers = ask(clients.admin(cluster), needs)
    missing = refusals(needs, answers)
    for need in missing:
        if not need.fatal:
            _LOG.warning("%s: %s", describe(need, None), _consequence(need))
    fatal = [describe(n, answers.get((n.kind, n.name))) for n in missing if n.fatal]
    if fatal:
        raise AuthorizationError("; ".join(fatal))


def ask(admin: AdminClient, needs: Iterable[Required]) -> dict[Resource, Answer]:
    """The broker's answer for every resource in `needs`."""
    names: dict[Kind, list[str]] = {"topic": [], "group": []}
    for need in needs:
        if need.name not in names[need.kind]:
            names[need.kind].append(need.name)
    answers: dict[Resource, Answer] = {}
    for topic, future in _describe_topics(admin, names["topic"]).items():
        answers["topic", topic] = _answer(future)
    for group in names["group"]:
        answers["group", group] = _retrying(partial(_describe_group, admin, group))
    return answers


def _refused(need: Required, answer: Answer | None) -> bool:
    if answer is None:
        return False
    if answer.error is not None:
        return answer.error.code() in {
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.GROUP_AUTHORIZATION_FAILED,
        }
    if answer.allowed is None:
        return False  # the broker did not say
    allowed = answer.allowed | (
        {AclOperation.DESCRIBE} if answer.allowed & _IMPLIES_DESCRIBE else set()
    )
    return not {need.operation, AclOperation.ALL} & allowed


def _describe_topics(admin: AdminClient, topics: list[str]) -> dict[str, "Future[Any]"]:
    if not topics:
        return {}
    collection = TopicCollection(topics)
    futures = admin.describe_topics(collection, include_authorized_operations=True)
    return dict(futures)


def _describe_group(admin: AdminClient, group: str) -> Answer:
    futures = admin.describe_consumer_groups([group], include_authorized_operations=True)
    return _answer(futures[group])


def _answer(future: "Future[Any]") -> Answer:
    try:
        described = future.result(_TIMEOUT_S)
    except KafkaException as error:
        return Answer(error=error.args[0])
    operations = described.authorized_operations
    return Answer(allowed=None if operations is None else frozenset(operations))


def _retrying(ask_once: Callable[[], Answer]) -> Answer:
    """Ask again while the broker's answer is a retriable error (a coordinator loading)."""
    answer = ask_once()
    for _ in range(_ATTEMPTS):
        if answer.error is None or not answer.error.retriable():
            break
        time.sleep(_RETRY_S)
        answer = ask_once()
    return answer


def _consequence(need: Required) -> str:
    if need.name.endswith(".dlt"):
        return "a poison record will hold its partition"
    return (
        "held keys are not seen on assignment, and a dead letter of a keyed job holds its partition"
    )
