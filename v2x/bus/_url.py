"""The URL of an external MQTT broker: ``mqtt://`` or ``mqtts://`` (TLS), credentials, CA file.

::

    mqtt://host[:port]                          plain TCP, port 1883 by default, anonymous
    mqtt://user:password@host[:port]            with credentials (MQTT CONNECT user name, password)
    mqtts://user:password@host[:port]           TLS, port 8883 by default, the system's CAs
    mqtts://user:password@host:port?ca=/path/ca.pem   TLS, the server checked against that CA file

The user name and password are percent-decoded (``p%40ss`` is ``p@ss``). A URL with a user name
and no password takes the password from the environment variable ``V2X_BUS_PASSWORD`` (so it
stays out of the shell history and the process list), or none when it is unset. With TLS the
broker's certificate must be valid for the host named in the URL (``ssl`` hostname check).
What a run records (``run.json`` ``bus``) is :attr:`BrokerUrl.redacted`: the password replaced
by ``***``.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from v2x.errors import ConfigError

__all__ = ["PASSWORD_ENV", "BrokerUrl", "parse_broker_url", "redact_bus_spec", "with_ca_file"]

#: where the password of a URL that names a user but no password comes from
PASSWORD_ENV = "V2X_BUS_PASSWORD"

_DEFAULT_PORT = {"mqtt": 1883, "mqtts": 8883}
_QUERY_KEYS = ("ca",)
_HOST = re.compile(r"^(?:[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+)$")  # a name, IPv4 or IPv6 address


@dataclass(frozen=True)
class BrokerUrl:
    """An external broker as a ``--bus`` URL names it.

    Attributes:
        scheme: ``"mqtt"`` (plain TCP) or ``"mqtts"`` (TLS).
        host: host name or address (an IPv6 address without brackets).
        port: TCP port.
        username, password: MQTT credentials, None when absent.
        ca_file: CA certificates (PEM) the broker's certificate is checked against; None: the
            system's default CAs (``mqtts`` only).
    """

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS (``mqtts``)."""
        return self.scheme == "mqtts"

    @property
    def redacted(self) -> str:
        """The URL without the password (``***`` in its place): what a run records."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = ""
        if self.username is not None:
            user = quote(self.username, safe="") + (":***" if self.password else "") + "@"
        query = f"?ca={self.ca_file}" if self.ca_file is not None else ""
        return f"{self.scheme}://{user}{host}:{self.port}{query}"

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context of an ``mqtts`` URL (server certificate and host name checked,
        against :attr:`ca_file` or the system's CAs); None for ``mqtt``.

        Raises ConfigError (key ``bus``) when the CA file cannot be read or holds no
        certificate.
        """
        if not self.tls:
            return None
        try:
            return ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file is not None else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the CA file {self.ca_file} of the bus URL: {exc}",
                              key="bus", value=self.redacted) from exc


def parse_broker_url(spec: str) -> BrokerUrl:
    """Parse ``mqtt[s]://[user[:password]@]host[:port][?ca=PATH]`` (see the module doc).

    Raises ConfigError (key ``bus``, the value with its password redacted) for another scheme,
    a missing host, a port outside 1..65535, a path, an unknown query key, or ``ca`` without
    TLS.
    """
    try:
        parts = urlsplit(spec)
        port_text = parts.port  # ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise ConfigError(f"bus URL: {exc}", key="bus", value=_hide_password(spec)) from None
    shown = _hide_password(spec)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORT:
        raise ConfigError("bus URL must start with mqtt:// or mqtts://", key="bus", value=shown)
    host = parts.hostname
    if not host:
        raise ConfigError("bus URL names no host", key="bus", value=shown)
    if not _HOST.match(host):
        raise ConfigError(f"bus URL host {host!r} is not a host name or address", key="bus",
                          value=shown)
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigError("bus URL has a path; use mqtt[s]://[user:password@]host:port",
                          key="bus", value=shown)
    port = _DEFAULT_PORT[scheme] if port_text is None else port_text
    if not 0 < port < 65536:
        raise ConfigError(f"bus URL port {port} is not in 1..65535", key="bus", value=shown)
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - set(_QUERY_KEYS))
    if unknown:
        raise ConfigError(f"bus URL query key {unknown[0]!r} is unknown; known: "
                          f"{', '.join(_QUERY_KEYS)}", key="bus", value=shown)
    ca_values = query.get("ca", [])
    if ca_values and scheme != "mqtts":
        raise ConfigError("bus URL: ca= needs TLS, mqtts://", key="bus", value=shown)
    if len(ca_values) > 1 or (ca_values and not ca_values[0]):
        raise ConfigError("bus URL: give one CA file, ?ca=PATH", key="bus", value=shown)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and password is None:
        password = os.environ.get(PASSWORD_ENV)
    return BrokerUrl(scheme=scheme, host=host, port=port, username=username,
                     password=password, ca_file=Path(ca_values[0]) if ca_values else None)


def _hide_password(spec: str) -> str:
    """``spec`` with the password of its user info replaced by ``***`` (for error messages)."""
    scheme, sep, rest = spec.partition("://")
    if not sep:
        return spec
    netloc, slash, tail = rest.partition("/")
    head, q, query = netloc.partition("?")
    userinfo, at, hostport = head.rpartition("@")
    if not at:
        return spec
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{hostport}{q}{query}{slash}{tail}"


def redact_bus_spec(spec: str) -> str:
    """What a run records of its ``--bus``: ``memory`` and ``embedded`` as they are, a broker
    URL checked (:func:`parse_broker_url`, ConfigError) and without its password."""
    if spec in ("memory", "embedded") or not isinstance(spec, str):
        return spec
    return parse_broker_url(spec).redacted


def with_ca_file(spec: str, ca_file: str | Path) -> str:
    """The ``mqtts://`` bus URL ``spec`` with its broker's certificate checked against the CA
    file ``ca_file`` (``?ca=PATH``, percent-encoded): ``v2x run --ca-file``.

    Raises ConfigError (key ``bus``) when ``spec`` is not ``mqtts://`` or already names a CA
    file (``?ca=``)."""
    shown = _hide_password(spec)
    if not spec.startswith("mqtts://"):
        raise ConfigError("--ca-file needs TLS: a bus URL mqtts://...", key="bus", value=shown)
    parts = urlsplit(spec)
    if "ca" in parse_qs(parts.query, keep_blank_values=True):
        raise ConfigError("the bus URL names a CA file already (?ca=); give one",
                          key="bus", value=shown)
    sep = "&" if parts.query else "?"
    return f"{spec}{sep}ca={quote(str(ca_file), safe='/')}"
