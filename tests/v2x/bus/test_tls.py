"""External brokers with credentials and TLS: our own Mosquitto with a password file and a TLS
listener whose certificate a throwaway CA (made here with ``cryptography``) signed."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from v2x.bus import Tap, open_bus, parse_broker_url, redact_bus_spec, rsu_up
from v2x.errors import BusError, ConfigError

from .conftest import OwnMosquitto, free_port

USER, PASSWORD = "rsu-gateway", "s3cret:p@ss"  # ':' and '@' travel percent-encoded in the URL
PASSWORD_IN_URL = "s3cret%3Ap%40ss"


@dataclass
class SecureMosquitto:
    broker: OwnMosquitto
    tls_port: int
    ca_file: Path

    def url(self, *, password: str = PASSWORD_IN_URL, tls: bool = True) -> str:
        if tls:
            return (f"mqtts://{USER}:{password}@127.0.0.1:{self.tls_port}"
                    f"?ca={self.ca_file}")
        return f"mqtt://{USER}:{password}@127.0.0.1:{self.broker.port}"


def _throwaway_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA certificate and a server certificate (127.0.0.1, localhost) it signed, PEM."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "v2x test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5))
              .not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([
                  x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                  x509.DNSName("localhost")]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                  ca_ski), critical=False)
              .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.fixture
def secure_mosquitto(own_mosquitto: Callable[..., OwnMosquitto],
                     tmp_path: Path) -> SecureMosquitto:
    """Mosquitto with a plain listener and a TLS one, both for ``USER`` / ``PASSWORD`` only."""
    pytest.importorskip("cryptography")
    ca_file, cert_file, key_file = _throwaway_ca_and_server_cert(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), USER, PASSWORD],
                   check=True, capture_output=True)
    tls_port = free_port()
    # started as root, Mosquitto drops to the user 'mosquitto', who cannot read tmp_path
    stay = ("user root",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()
    broker = own_mosquitto("allow_anonymous false", f"password_file {passwords}", *stay,
                           f"listener {tls_port} 127.0.0.1", f"cafile {ca_file}",
                           f"certfile {cert_file}", f"keyfile {key_file}")
    return SecureMosquitto(broker, tls_port, ca_file)


def _mosquitto_version() -> str:
    """The version ``mosquitto -h`` prints on its first line ("mosquitto version 2.0.11")."""
    out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout
    m = re.search(r"mosquitto version (\S+)", out)
    assert m is not None, out
    return m[1]


def test_broker_urls_parse_and_never_show_the_password(monkeypatch) -> None:
    url = parse_broker_url("mqtts://al%40ice:p%3Aw@Broker.example:8884?ca=/etc/ca.pem")
    assert (url.scheme, url.host, url.port, url.username, url.password, str(url.ca_file)) == \
        ("mqtts", "broker.example", 8884, "al@ice", "p:w", "/etc/ca.pem")
    assert url.redacted == "mqtts://al%40ice:***@broker.example:8884?ca=/etc/ca.pem"
    assert parse_broker_url("mqtts://h").port == 8883 and parse_broker_url("mqtt://h").port == 1883
    monkeypatch.setenv("V2X_BUS_PASSWORD", "from-env")  # a user without a password in the URL
    assert parse_broker_url("mqtt://bob@h").password == "from-env"
    assert redact_bus_spec("mqtt://bob:x@h:1") == "mqtt://bob:***@h:1"
    assert redact_bus_spec("embedded") == "embedded"
    for bad in ("mqtt://u:secret@h:1/path", "mqtt://u:secret@h?ca=/x.pem",
                "mqtts://u:secret@h?tls=1", "mqtts://u:secret@h:0"):
        with pytest.raises(ConfigError) as info:
            parse_broker_url(bad)
        assert info.value.key == "bus" and "secret" not in str(info.value)
    with pytest.raises(ConfigError, match="CA file"):  # read before any connection
        parse_broker_url("mqtts://h?ca=/no/such/ca.pem").tls_context()


@pytest.mark.broker
def test_the_embedded_and_memory_buses_name_themselves() -> None:
    async def main() -> tuple[dict[str, str], dict[str, str]]:
        async with open_bus("embedded") as embedded, open_bus("memory") as memory:
            return embedded.broker, memory.broker

    embedded, memory = asyncio.run(main())
    assert embedded == {"name": "amqtt", "version": importlib.metadata.version("amqtt")}
    assert memory == {"name": "memory", "version": importlib.metadata.version("v2x-testbed")}


@pytest.mark.broker
def test_credentials_and_tls_round_trip_and_name_the_broker(
        secure_mosquitto: SecureMosquitto) -> None:
    """Three SPATs over TLS and three over plain TCP with the password come back unchanged,
    and the bus names the broker as ``mosquitto -h`` does. A wrong password, no password and
    a certificate checked against the system's CAs instead of ours are refused, each saying
    what to check."""
    sent = [(rsu_up("zt", "R1", "SPAT"), bytes([i, 0xA5, i])) for i in range(3)]

    async def round_trip(spec: str) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
        async with open_bus(spec) as bus, Tap(bus, "v2x/zt/#") as tap:
            await bus.publish_many(sent)
            await tap.wait_for(len(sent), timeout_s=10.0)
            return [(m.topic, m.payload) for m in tap.drain()], bus.broker

    async def refused(spec: str) -> str:
        with pytest.raises(BusError) as info:
            async with open_bus(spec, timeout_s=5.0):
                pass
        return str(info.value)

    async def main() -> None:
        expected = {"name": "mosquitto", "version": _mosquitto_version()}
        assert await round_trip(secure_mosquitto.url()) == (sent, expected)
        assert await round_trip(secure_mosquitto.url(tls=False)) == (sent, expected)
        wrong = await refused(secure_mosquitto.url(password="wrong"))
        assert "check the user name and password" in wrong and "wrong" not in wrong
        assert "check the user name and password" in await refused(
            f"mqtt://127.0.0.1:{secure_mosquitto.broker.port}")  # anonymous: not authorised
        untrusted = await refused(f"mqtts://{USER}:{PASSWORD_IN_URL}@127.0.0.1:"
                                  f"{secure_mosquitto.tls_port}")  # no ca=: system CAs
        assert "?ca=PATH" in untrusted

    asyncio.run(main())
    # paho does not close the TLS socket whose handshake failed (the untrusted certificate):
    # collect it here, where its ResourceWarning is expected, not in a later test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.mark.broker
@pytest.mark.sumo
def test_a_run_over_tls_records_mosquitto_and_a_wrong_password_exits_2(
        secure_mosquitto: SecureMosquitto, tmp_path: Path) -> None:
    """A 2 s run over TLS with credentials completes: every message it published came back
    (``bus_messages`` = rows of ``bus.parquet``); run.json and the report name Mosquitto and
    its version and never the password. The same run with a wrong password exits 2 with one
    clear message and no traceback."""
    v2x = str(Path(sys.executable).parent / "v2x")
    out = tmp_path / "run"
    ok = subprocess.run([v2x, "run", "xiqing-south-station", "--bus", secure_mosquitto.url(),
                         "--duration", "2", "--out", str(out), "-q"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode in (0, 1), ok.stderr  # 1: a 2 s run fails the vehicles criterion
    run = json.loads((out / "run.json").read_text())
    version = _mosquitto_version()
    assert run["status"] == "complete"
    assert run["broker"] == {"name": "mosquitto", "version": version}
    assert run["bus"] == (f"mqtts://{USER}:***@127.0.0.1:{secure_mosquitto.tls_port}"
                          f"?ca={secure_mosquitto.ca_file}")
    assert run["bus_messages"] > 0
    assert len(pd.read_parquet(out / "bus.parquet")) == run["bus_messages"]
    assert f"(mosquitto {version})" in (out / "report.html").read_text()
    for name in ("run.json", "report.json", "report.html", "junit.xml"):
        text = (out / name).read_text()
        assert "s3cret" not in text and PASSWORD_IN_URL not in text, name

    bad = subprocess.run([v2x, "run", "xiqing-south-station", "--bus",
                          secure_mosquitto.url(password="wrong"), "--duration", "2",
                          "--out", str(tmp_path / "bad"), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2, bad.stderr
    assert "check the user name and password" in bad.stderr
    assert "Traceback" not in bad.stderr and "wrong" not in bad.stderr
