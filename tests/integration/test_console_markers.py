"""The console's lag on a real broker: offsets that hold only transaction markers count as 0."""

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from keel.consumers.console.groups import describe
from tests.support.cluster import Cluster
from tests.support.topics import create_topic, unique_name
from tests.support.waiting import wait_until


def _commit(cluster: Cluster, group: str, topic: str, offset: int) -> None:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group})

    def committed() -> bool:
        try:
            consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
        except KafkaException:  # a fresh broker's coordinator may still be loading
            return False
        return True

    try:
        wait_until(committed, 60, f"offset {offset} committed")
    finally:
        consumer.close()


def test_a_group_behind_only_a_marker_shows_no_lag_and_one_behind_a_record_does(
    cluster: Cluster, admin: AdminClient
) -> None:
    # Given a partition of a plain record (0) and a transaction's record (1) and marker (2)
    topic = create_topic(admin, unique_name("console-markers"), 1)
    plain = Producer({"bootstrap.servers": cluster.bootstrap_servers})
    plain.produce(topic, b"plain", b"k")
    assert plain.flush(30) == 0
    tx = Producer(
        {"bootstrap.servers": cluster.bootstrap_servers, "transactional.id": f"tx-{topic}"}
    )
    tx.init_transactions(30)
    tx.begin_transaction()
    tx.produce(topic, b"in a transaction", b"k")
    tx.commit_transaction(30)
    # And a group that finished both records (committed 2) and one that did not finish 1
    caught_up, behind = unique_name("markers-done"), unique_name("markers-behind")
    _commit(cluster, caught_up, topic, 2)
    _commit(cluster, behind, topic, 1)

    # When the console describes both groups
    [done] = describe(cluster.settings(), caught_up, 30).partitions
    [waiting] = describe(cluster.settings(), behind, 30).partitions

    # Then the marker alone counts as no lag, and the unfinished record as lag 2 (it and the marker)
    assert (done.committed, done.end, done.lag, done.only_markers) == (2, 3, 0, True)
    assert done.time_lag_s == 0.0
    assert (waiting.committed, waiting.end, waiting.lag, waiting.only_markers) == (1, 3, 2, False)
    assert waiting.time_lag_s is not None  # its record was read
