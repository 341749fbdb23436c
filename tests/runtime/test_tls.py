"""TLS against a real TLS server of the tests' own: what DB_SSLMODE, DB_SSLROOTCERT,
DB_SSLCERT and DB_SSLKEY promise, proven through create_pool.

The tests make a CA, a server certificate for localhost and 127.0.0.1 and client
certificates with `cryptography`, and start two throwaway PostgreSQL servers
(localdb.extra_server): one presenting that certificate, one presenting a
certificate of the same CA issued for another name only. Both refuse every
connection without TLS; the superuser is trusted, chipq_app_rw must show a
client certificate whose CN is its name.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chip_quality_db import (
    AuthenticationError,
    Pool,
    create_pool,
    load_settings,
)
from chip_quality_dev import localdb

APP_ROLE = "chipq_app_rw"
SSL_OF_THIS_SESSION = (
    "SELECT ssl, version, client_dn, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
)


# --- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: Issuer | None,
    *,
    names: list[x509.GeneralName] | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    """A certificate for `key`: a CA's when `issuer` is None (self-signed), else a leaf."""
    now = datetime.datetime.now(datetime.UTC)
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.certificate.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(
    folder: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> None:
    (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = folder / f"{stem}.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)


@dataclass(frozen=True)
class Certificates:
    folder: Path

    def crt(self, stem: str) -> str:
        return str(self.folder / f"{stem}.crt")

    def key(self, stem: str) -> str:
        return str(self.folder / f"{stem}.key")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """ca, server (localhost, 127.0.0.1), misnamed (db.elsewhere.example only),
    client (CN=chipq_app_rw) and stranger (CN=someone_else), all signed by ca;
    other_ca signs nothing here."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = _new_key()
    ca = Issuer(ca_key, _certificate("chipq test CA", ca_key, None))
    _write(folder, "ca", ca.key, ca.certificate)
    other_key = _new_key()
    _write(folder, "other_ca", other_key, _certificate("some other CA", other_key, None))
    server_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    leaves: list[tuple[str, str, list[x509.GeneralName] | None, x509.ObjectIdentifier]] = [
        ("server", "localhost", server_names, ExtendedKeyUsageOID.SERVER_AUTH),
        (
            "misnamed",
            "db.elsewhere.example",
            [x509.DNSName("db.elsewhere.example")],
            ExtendedKeyUsageOID.SERVER_AUTH,
        ),
        ("client", APP_ROLE, None, ExtendedKeyUsageOID.CLIENT_AUTH),
        ("stranger", "someone_else", None, ExtendedKeyUsageOID.CLIENT_AUTH),
    ]
    for stem, subject, names, usage in leaves:
        key = _new_key()
        _write(folder, stem, key, _certificate(subject, key, ca, names=names, usage=usage))
    return Certificates(folder)


# --- servers ------------------------------------------------------------------------------

# First match wins: chipq_app_rw by certificate only, the superuser trusted, and
# nothing without TLS.
HBA = f"""\
hostssl all {APP_ROLE} 127.0.0.1/32 cert
hostssl all postgres 127.0.0.1/32 trust
"""


@contextmanager
def _tls_server(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates, stem: str
) -> Iterator[localdb.LocalServer]:
    """A server presenting certificate `stem`, trusting client certificates of the CA."""
    bindir = localdb.find_ssl_bindir()
    if bindir is None:
        pytest.fail(
            f"no PostgreSQL built with OpenSSL: {localdb.find_bindir()} has none (neither "
            "server wheel has), and neither has any /usr/lib/postgresql/*/bin. Install one "
            "(Debian: apt-get install postgresql) or point LOCALDB_BINDIR at one."
        )
    folder = tmp_path_factory.mktemp(f"{stem}-server")
    # The server's own copies: PostgreSQL refuses a key that others can read.
    copies = {
        "server.crt": certificates.crt(stem),
        "server.key": certificates.key(stem),
        "ca.crt": certificates.crt("ca"),
    }
    for name, source in copies.items():
        (folder / name).write_bytes(Path(source).read_bytes())
        localdb.give_to_service(folder / name)
    settings = {
        "ssl": "on",
        "ssl_cert_file": str(folder / "server.crt"),
        "ssl_key_file": str(folder / "server.key"),
        "ssl_ca_file": str(folder / "ca.crt"),
    }
    with localdb.extra_server(folder / "pg", bindir=bindir, settings=settings, hba=HBA) as server:
        yield server


@pytest.fixture(scope="module")
async def tls_server(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> AsyncIterator[localdb.LocalServer]:
    with _tls_server(tmp_path_factory, certificates, "server") as server:
        admin = await asyncpg.connect(_url(server, "postgres"), ssl="require")
        try:
            # An unmigrated database: a plain role stands for the one the migrations make.
            await admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        finally:
            await admin.close()
        yield server


@pytest.fixture(scope="module")
def misnamed_server(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[localdb.LocalServer]:
    with _tls_server(tmp_path_factory, certificates, "misnamed") as server:
        yield server


def _url(server: localdb.LocalServer, user: str, host: str = "127.0.0.1") -> str:
    return f"postgresql://{user}@{host}:{server.port}/{localdb.DATABASE_NAME}"


async def _pool(url: str, **settings: str) -> Pool:
    return await create_pool(
        load_settings(
            DATABASE_URL=url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=10, **settings
        )
    )


async def _session(url: str, **settings: str) -> asyncpg.Record:
    """What pg_stat_ssl says of a session opened through create_pool with `settings`."""
    pool = await _pool(url, **settings)
    try:
        row: asyncpg.Record = await pool.fetchrow(SSL_OF_THIS_SESSION)
        return row
    finally:
        await pool.close()


# --- (a) verify-full with the CA: connected, and encrypted ----------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_verify_full_with_the_ca_connects_encrypted(
    tls_server: localdb.LocalServer, certificates: Certificates, host: str
) -> None:
    session = await _session(
        _url(tls_server, "postgres", host),
        DB_SSLMODE="verify-full",
        DB_SSLROOTCERT=certificates.crt("ca"),
    )
    assert session["ssl"] is True
    assert session["version"].startswith("TLSv1.")


async def test_production_settings_connect_encrypted(
    tls_server: localdb.LocalServer, certificates: Certificates
) -> None:
    # ENVIRONMENT=production refuses disable/allow/prefer (tests/unit/test_settings.py);
    # what it accepts works end to end.
    session = await _session(
        _url(tls_server, "postgres"),
        ENVIRONMENT="production",
        DB_SSLMODE="verify-full",
        DB_SSLROOTCERT=certificates.crt("ca"),
    )
    assert session["ssl"] is True


async def test_the_server_refuses_a_session_without_tls(tls_server: localdb.LocalServer) -> None:
    with pytest.raises(AuthenticationError, match="no encryption"):
        await _pool(_url(tls_server, "postgres"), DB_SSLMODE="disable")


# --- (b) a name the certificate does not carry -------------------------------------------


async def test_verify_full_refuses_a_certificate_for_another_name(
    misnamed_server: localdb.LocalServer, certificates: Certificates
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await _pool(
            _url(misnamed_server, "postgres"),
            DB_SSLMODE="verify-full",
            DB_SSLROOTCERT=certificates.crt("ca"),
        )
    message = str(caught.value)
    assert "TLS certificate was refused" in message
    assert "not valid for '127.0.0.1'" in message
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


async def test_verify_ca_checks_the_issuer_but_not_the_name(
    misnamed_server: localdb.LocalServer, certificates: Certificates
) -> None:
    session = await _session(
        _url(misnamed_server, "postgres"),
        DB_SSLMODE="verify-ca",
        DB_SSLROOTCERT=certificates.crt("ca"),
    )
    assert session["ssl"] is True


# --- (c) a server certificate from a CA the client does not trust ---------------------------

# The server sends its CA along with its certificate (OpenSSL completes the chain
# from ssl_ca_file), so OpenSSL meets a root it does not trust.
UNKNOWN_ISSUER = (
    "TLS certificate was refused: "
    "(self-signed certificate in certificate chain|unable to get local issuer certificate)"
)


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
async def test_a_certificate_from_an_unknown_ca_is_refused(
    tls_server: localdb.LocalServer, certificates: Certificates, mode: str
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await _pool(
            _url(tls_server, "postgres"),
            DB_SSLMODE=mode,
            DB_SSLROOTCERT=certificates.crt("other_ca"),
        )
    assert re.search(UNKNOWN_ISSUER, str(caught.value)), caught.value
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)


async def test_verify_full_without_a_root_certificate_trusts_the_system_cas_only(
    tls_server: localdb.LocalServer,
) -> None:
    # Not asyncpg's "~/.postgresql/root.crt does not exist": the system's CAs, which
    # do not know the test CA.
    with pytest.raises(AuthenticationError, match=UNKNOWN_ISSUER):
        await _pool(_url(tls_server, "postgres"), DB_SSLMODE="verify-full")


async def test_require_encrypts_without_verifying(tls_server: localdb.LocalServer) -> None:
    session = await _session(_url(tls_server, "postgres"), DB_SSLMODE="require")
    assert session["ssl"] is True


# --- (e) chipq_app_rw logs in with its client certificate ----------------------------------


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
async def test_the_app_role_logs_in_with_its_client_certificate(
    tls_server: localdb.LocalServer, certificates: Certificates, mode: str
) -> None:
    session = await _session(
        _url(tls_server, APP_ROLE),
        DB_SSLMODE=mode,
        DB_SSLROOTCERT=certificates.crt("ca"),
        DB_SSLCERT=certificates.crt("client"),
        DB_SSLKEY=certificates.key("client"),
    )
    assert session["current_user"] == APP_ROLE
    assert session["ssl"] is True
    assert session["client_dn"] == f"/CN={APP_ROLE}"


async def test_the_client_certificate_may_come_in_the_url(
    tls_server: localdb.LocalServer, certificates: Certificates
) -> None:
    query = (
        f"?sslmode=verify-full&sslrootcert={certificates.crt('ca')}"
        f"&sslcert={certificates.crt('client')}&sslkey={certificates.key('client')}"
    )
    session = await _session(_url(tls_server, APP_ROLE) + query)
    assert (session["current_user"], session["ssl"]) == (APP_ROLE, True)


async def test_the_app_role_is_refused_without_a_client_certificate(
    tls_server: localdb.LocalServer, certificates: Certificates
) -> None:
    with pytest.raises(AuthenticationError, match="requires a valid client certificate"):
        await _pool(
            _url(tls_server, APP_ROLE),
            DB_SSLMODE="verify-full",
            DB_SSLROOTCERT=certificates.crt("ca"),
        )


async def test_the_app_role_is_refused_with_someone_elses_certificate(
    tls_server: localdb.LocalServer, certificates: Certificates
) -> None:
    with pytest.raises(AuthenticationError, match="certificate authentication failed"):
        await _pool(
            _url(tls_server, APP_ROLE),
            DB_SSLMODE="verify-full",
            DB_SSLROOTCERT=certificates.crt("ca"),
            DB_SSLCERT=certificates.crt("stranger"),
            DB_SSLKEY=certificates.key("stranger"),
        )
