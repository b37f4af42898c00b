"""The one exception tree of the testbed.

Every error the library raises on purpose is a :class:`V2XError`. Errors of foreign libraries
(SUMO, MQTT clients and brokers, codecs, file formats) are caught where they enter and re-raised
as one of these with the cause chained (``raise ConfigError(...) from exc``).

::

    V2XError
    ├── ConfigError        scenario / configuration: names the file, key and bad value
    ├── SumoError          SUMO binary, libsumo or TraCI failed
    ├── BusError           message bus / MQTT broker failed
    ├── CodecError         a message could not be encoded or decoded
    │   ├── EncodeError
    │   └── DecodeError
    ├── RecordingError     a recording is missing, incomplete or unreadable
    └── CriteriaError      a pass/fail criterion is malformed or names an unknown KPI
"""

from __future__ import annotations

__all__ = [
    "BusError",
    "CodecError",
    "ConfigError",
    "CriteriaError",
    "DecodeError",
    "EncodeError",
    "RecordingError",
    "SumoError",
    "V2XError",
]


class V2XError(Exception):
    """Root of every error the testbed raises on purpose."""


class ConfigError(V2XError):
    """A scenario or configuration value is missing or invalid.

    Attributes ``file``, ``key`` and ``value`` name where the problem is (any may be ``None``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: object | None = None,
        key: str | None = None,
        value: object = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.key = key
        self.value = value
        self.message = message
        where = []
        if self.file:
            where.append(self.file)
        if key:
            where.append(f"key '{key}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        shown = "" if value is None or _names(message, value) else f" (value: {value!r})"
        super().__init__(f"{prefix}{message}{shown}")

    def in_file(self, file: object) -> ConfigError:
        """The same error, naming ``file`` (for an error raised where the file was not
        known); the cause chain is kept by the caller's ``raise ... from``."""
        return ConfigError(self.message, file=file, key=self.key, value=self.value)


def _names(message: str, value: object) -> bool:
    """Whether ``message`` already shows ``value``."""
    return repr(value) in message or str(value) in message


class SumoError(V2XError):
    """SUMO (a binary, libsumo or TraCI) failed."""


class BusError(V2XError):
    """The message bus or its MQTT broker failed."""


class CodecError(V2XError):
    """A message could not be encoded or decoded."""


class EncodeError(CodecError):
    """A value cannot be encoded (out of range, wrong type); names the field and value."""


class DecodeError(CodecError):
    """Bytes could not be decoded into a message."""


class RecordingError(V2XError):
    """A recording directory or file is missing, incomplete or unreadable."""


class CriteriaError(V2XError):
    """A pass/fail criterion is malformed or refers to an unknown KPI.

    Attribute ``key`` names the key at fault where one is (``"op"``, ``"[2].value"``), else
    ``None``.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)
