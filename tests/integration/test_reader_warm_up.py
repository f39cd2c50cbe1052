"""A worker's codec resolves a handled type's schema before its first record arrives."""

from confluent_kafka.schema_registry import SchemaRegistryClient

from keel.schemas.codec import JobCodec
from keel.schemas.demo import SendEmail, demo_catalog
from tests.support import jobs
from tests.support.cluster import Cluster
from tests.support.topics import unique_name


def test_a_schema_nobody_registered_yet_is_skipped_and_a_registered_one_resolved(
    cluster: Cluster,
) -> None:
    topic = unique_name("warm")
    with SchemaRegistryClient({"url": cluster.registry_url}) as publisher_client:
        publisher = JobCodec(publisher_client, demo_catalog())
        worker_client = SchemaRegistryClient({"url": cluster.registry_url})
        worker = JobCodec(worker_client, demo_catalog(), auto_register=False)

        # Given a topic whose subject holds nothing yet, the worker finds nothing to resolve
        assert worker.warm(SendEmail, topic) is False
        # When a publisher registers the type by publishing its first job there
        job = jobs.send_email()
        record = publisher.encode(job, topic)
        # Then the worker resolves it, and decodes the record without asking the registry again
        assert worker.warm(SendEmail, topic) is True
        worker_client.close()  # closed: any request now fails
        assert worker.decode(record) == job
