"""Running keel as a user of the secured stack, and reading what it did as the super user."""

import json
import subprocess
import sys
import time

from confluent_kafka import TopicPartition

from keel.producers import Publisher
from keel.producers.settings import ProducerSettings, Route
from keel.schemas import clients
from keel.schemas.headers import JobHeaders, new_job_id
from keel.schemas.settings import ClusterSettings
from tests.support.cluster import Cluster
from tests.support.sample import email
from tests.support.secured import SecuredUser, assert_no_secret

_EMAIL = "keel.jobs.SendEmail"


def keel(user: SecuredUser, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`keel ARGS` as `user`, to completion; its output is checked for secrets."""
    done = subprocess.run(
        [sys.executable, "-m", "keel", *args],
        env=user.process_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_no_secret([done.stdout, done.stderr], user.secrets())
    return done


def routes(jobs: str, job_type: str = _EMAIL) -> str:
    return json.dumps({job_type: {"topic": jobs, "partitions": 1}})


def publish_as_admin(admin_user: SecuredUser, jobs: str, count: int) -> None:
    settings = ProducerSettings(routes={_EMAIL: Route(topic=jobs, partitions=1)})
    with Publisher(cluster=admin_user.settings(), settings=settings) as publisher:
        for seq in range(count):
            publisher.publish(*email(seq, seq))


def publish_poison(cluster: ClusterSettings, jobs: str) -> None:
    producer = clients.producer(cluster)
    headers = JobHeaders(new_job_id(), _EMAIL, int(time.time() * 1000)).encode()
    producer.produce(jobs, b"not avro", b"poison", headers=list(headers))
    assert producer.flush(30) == 0


def records_in(cluster: ClusterSettings, name: str) -> int:
    consumer = clients.consumer(cluster, "peek")
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(name, 0), 30)
        return int(high - low)
    finally:
        consumer.close()


def cluster_of(user: SecuredUser) -> Cluster:
    env = user.env()
    return Cluster(env["KAFKA_BOOTSTRAP_SERVERS"], env["SCHEMA_REGISTRY_URL"], "secured")
