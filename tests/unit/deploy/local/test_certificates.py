"""The throwaway CA and the broker's server certificate, checked with `cryptography`."""

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from keel.deploy.local.certificates import ServerCredentials, issue_server_credentials


@pytest.fixture(scope="module")
def credentials() -> ServerCredentials:
    return issue_server_credentials("keel-test-broker")


def test_the_server_certificate_is_signed_by_the_ca(credentials: ServerCredentials) -> None:
    ca = x509.load_pem_x509_certificate(credentials.ca_certificate.encode())
    server = x509.load_pem_x509_certificate(credentials.server_certificate.encode())

    server.verify_directly_issued_by(ca)  # raises unless the CA's key signed it
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_the_server_certificate_names_the_loopback_address_and_localhost(
    credentials: ServerCredentials,
) -> None:
    server = x509.load_pem_x509_certificate(credentials.server_certificate.encode())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value

    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage


def test_the_keystore_holds_the_servers_key_and_chain(credentials: ServerCredentials) -> None:
    key = serialization.load_pem_private_key(credentials.server_key.encode(), password=None)
    chain = x509.load_pem_x509_certificates(credentials.keystore.encode())
    server = x509.load_pem_x509_certificate(credentials.server_certificate.encode())

    assert credentials.keystore.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, for Kafka
    assert [c.subject for c in chain] == [
        server.subject,
        x509.load_pem_x509_certificate(credentials.ca_certificate.encode()).subject,
    ]
    assert key.public_key() == server.public_key()


def test_each_issue_makes_a_new_ca(credentials: ServerCredentials) -> None:
    assert issue_server_credentials("keel-test-broker").ca_certificate != (
        credentials.ca_certificate
    )
