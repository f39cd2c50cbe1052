"""A throwaway certificate authority and the local broker's server certificate, as PEM.

Made with `cryptography` when a secured stack first starts. The CA's private key signs the one
server certificate and is then dropped, never written: nothing else can be issued under a CA
that only this data directory trusts. The server certificate names 127.0.0.1 and localhost, so
clients verify the host as well as the chain (librdkafka's default
`ssl.endpoint.identification.algorithm=https`).
"""

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("localhost",)
LOOPBACK_ADDRESSES = ("127.0.0.1",)
_VALID_FOR = datetime.timedelta(days=825)
_CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class ServerCredentials:
    """PEM text: the CA clients trust, and the broker's key with its certificate chain."""

    ca_certificate: str
    server_certificate: str
    server_key: str

    @property
    def keystore(self) -> str:
        """Kafka's PEM keystore (`ssl.keystore.type=PEM`): the key, then the chain up to the CA."""
        return self.server_key + self.server_certificate + self.ca_certificate


def issue_server_credentials(common_name: str) -> ServerCredentials:
    """A new CA and a server certificate for `common_name` on the loopback names, signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name} local CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    server = (
        _builder(server_name, ca_name, server_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(_loopback_names()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ServerCredentials(
        ca_certificate=ca.public_bytes(serialization.Encoding.PEM).decode(),
        server_certificate=server.public_bytes(serialization.Encoding.PEM).decode(),
        server_key=server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # the only key format Kafka's PEM keystore reads
            serialization.NoEncryption(),
        ).decode(),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALID_FOR)
    )


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _loopback_names() -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in LOOPBACK_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in LOOPBACK_ADDRESSES]
    return names
