"""Run isolation: what a run does with messages on its topics that it did not publish.

A run hears everything on ``v2x/{zone}/#`` of its broker: its own messages, and those of
other clients (another run of the same zone, an external application, a stray or hostile
publisher). Its own are the ones its bus's ledger knows (``BusMessage.own``: the bus object
published that topic and payload); the :class:`~v2x.bus.Tap` keeps the others apart, so they
enter neither the barrier nor the ``bus`` table nor the KPIs. :func:`payload_error` sorts
them: a payload that does not decode as its topic's message is a decode error (counted,
recorded as a ``bus_decode_error`` event), one that does is a foreign message (counted).
"""

from __future__ import annotations

import json

from v2x.errors import DecodeError
from v2x.messages import decode_frame, unpack_frames

from ._topics import parse_topic

__all__ = ["payload_error"]

#: any fixed UTC time [ns] to place MinuteOfTheYear and DSecond in: only the decoding's success
#: matters here (2026-01-01T00:00:00Z)
_NOW_NS = 1_767_225_600_000_000_000


def payload_error(topic: str, payload: bytes, *, payload_format: str = "uper") -> str | None:
    """Why ``payload`` is not a valid message of ``topic``, or None when it is.

    ``payload_format`` is the run's (``"uper"`` or ``"json"``). What is valid, by the topic's
    row of :data:`~v2x.bus.TOPICS`: simulation telemetry (``.../sim/...``) a JSON object;
    an RSU's BSM uplink length-prefixed UPER MessageFrames (:func:`v2x.messages.unpack_frames`)
    whose every frame decodes; any other V2X topic one UPER MessageFrame that decodes
    (:func:`v2x.messages.decode_frame`); with ``payload_format="json"`` every V2X topic a JSON
    object; an ``openv2x`` profile topic a JSON object. A topic outside the tables has no
    known format: None.
    """
    info = parse_topic(topic)
    if info is None:
        return None
    if info.direction == "sim" or payload_format == "json" or info.spec.pattern.startswith("V2X/"):
        return _json_error(payload)  # telemetry, the JSON form, the openv2x profile
    try:
        if info.node_kind == "rsu" and info.msg_type == "BSM":
            frames = unpack_frames(payload)
            if not frames:
                return "no frame in the payload"
        else:
            frames = [payload]
        for frame in frames:
            decode_frame(frame, now_ns=_NOW_NS)
    except DecodeError as exc:
        return str(exc)
    return None


def _json_error(payload: bytes) -> str | None:
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not JSON: {exc}"
    if not isinstance(value, dict):
        return f"JSON {type(value).__name__}, not an object"
    return None
