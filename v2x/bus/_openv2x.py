"""Payloads of the ``openv2x`` topic profile: JSON with the OpenV2X edge platform's field names.

Read from the platform's public code (open-v2x/dandelion, open-v2x/cerebrum; the fields
their handlers read), written from our messages' ASN.1 JSON form
(:func:`v2x.messages.frame_to_json`, T/CSAE 53-2020 names and units):

- SPAT (dandelion ``RSUSpatHandler``): ``{"name", "intersections": [{"intersectionId",
  "status", "phases": [{"phaseId", "phaseStates": {"light", "timing"}}]}]}``; ``light`` the
  first phase state's light, ``timing`` its likely end as UTC ``"%Y-%m-%d %H:%M:%S"``;
- RSI (cerebrum ``transform_driver/driver_lib/drivers.py`` ``rsi_dawnline``; dandelion
  ``mqtt/service/algorithm/rsi.py`` reads it into ``schemas/rsi_event.py``
  ``RSIEventCreate``): ``{"rsiSourceType", "rsiSourceId", "rsiDatas": [{"alertID",
  "duration", "eventStatus", "timeStamp", "eventClass", "eventType", "eventSource",
  "eventPosition": {"lat", "lon"}, "eventRadius", "eventDescription",
  "eventPriority"}]}``, one item per road traffic event (``rtes``), typed as dandelion's
  schema: ``alertID`` int (the rteId), ``eventSource`` the EventSource name
  (dandelion ``models/rsi_event.py`` ``EventSource``), ``eventPosition`` int [1e-7 deg]
  (cerebrum ``function_test/rsi.tavern``: ``"latitude": 319353853``; ``consts.py``
  ``CoordinateUnit = 10**7``), ``eventPriority`` int, the Priority octet's value (0..255,
  the level 0..7 in its top 3 bits: T/CSAE 53-2020 ``Priority``; the platform's code
  gives no scale), ``eventClass`` as cerebrum classes ``eventType`` (``AdverseWeather``,
  ``AbnormalTraffic``, else ``AbnormalVehicle``);
- RSM (cerebrum ``rsm_std`` / ``rsm_dawnline``): ``{"name", "id", "content": {"rsms":
  [{"refPos": {"lat", "lon", "ele"}, "participants": [{"ptcType", "ptcId", "source",
  "secMark", "pos": {"lat", "lon", "ele"}, "speed", "heading", "lane", "size"}]}]}}``,
  positions absolute [1e-7 deg];
- MAP (dandelion ``MapRouterHandler`` stores the payload as is): the ``mapFrame`` JSON;
- BSM (no handler in either repository: to verify): ``{"rsuEsn", "bsms": [bsmFrame, ...]}``.

The downlink ``V2X/RSU/{esn}/RSI/DOWN`` carries the same RSI JSON the other way;
:func:`rsi_from_openv2x` reads it back into an RSI value for the RSU to broadcast.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from v2x.errors import DecodeError, EncodeError
from v2x.messages import (
    EventSource,
    Position3D,
    RoadTrafficEvent,
    Rsi,
    decode_frame,
    frame_to_json,
    unpack_frames,
)

__all__ = ["openv2x_payload", "rsi_from_openv2x"]

#: eventType codes cerebrum's rsi_dawnline classes as AdverseWeather and AbnormalTraffic
#: (transform_driver/driver_lib/drivers.py ADVERSE_WEATHER_CODE, ABNORMAL_TRAFFIC_CODE);
#: every other code is AbnormalVehicle there
_ADVERSE_WEATHER = frozenset((301, 308, 305, 311, 302, 304, 399))
_ABNORMAL_TRAFFIC = frozenset((707, 401, 405, 406, 408, 409, 202, 205))
#: an absolute latitude / longitude [1e-7 deg] (T/CSAE 53-2020 Latitude, Longitude)
_LAT_MAX, _LON_MAX = 900_000_000, 1_800_000_000
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def openv2x_payload(msg_type: str, payload: bytes, *, rsu: str, t_utc_ns: int,
                    payload_format: str = "uper") -> bytes:
    """The OpenV2X JSON payload of one RSU uplink or downlink.

    Args:
        msg_type: ``"BSM"``, ``"SPAT"``, ``"MAP"``, ``"RSI"`` or ``"RSM"``.
        payload: the message as the run carries it: UPER MessageFrame(s) (an RSU's BSM
            uplink: length-prefixed frames) or, with ``payload_format="json"``, their
            ASN.1 JSON form (a BSM uplink ``{"bsm": [...]}``).
        rsu: the RSU's name (the platform's ESN).
        t_utc_ns: the message's time [ns since the Unix epoch, UTC] (SPAT timing, RSI
            timeStamp; decoding MinuteOfTheYear).

    Raises DecodeError when ``payload`` is not such a message.
    """
    frames = _frames(msg_type, payload, t_utc_ns, payload_format)
    if msg_type == "BSM":
        out: dict[str, Any] = {"rsuEsn": rsu, "bsms": [f["bsmFrame"] for f in frames]}
    elif msg_type == "SPAT":
        out = _spat(frames[0]["spatFrame"], rsu, t_utc_ns)
    elif msg_type == "RSI":
        out = _rsi(frames[0]["rsiFrame"], rsu, t_utc_ns)
    elif msg_type == "RSM":
        out = _rsm(frames[0]["rsmFrame"], rsu)
    else:
        out = frames[0]["mapFrame"]
    return json.dumps(out, separators=(",", ":")).encode()


def _frames(msg_type: str, payload: bytes, t_utc_ns: int, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        obj = json.loads(payload)
        if msg_type == "BSM":
            return [{"bsmFrame": b} for b in obj["bsm"]]
        key = {"SPAT": "spatFrame", "RSI": "rsiFrame", "RSM": "rsmFrame", "MAP": "mapFrame"}
        return [obj if key[msg_type] in obj else {key[msg_type]: obj}]
    raw = unpack_frames(payload) if msg_type == "BSM" else [payload]
    return [frame_to_json(decode_frame(f, now_ns=t_utc_ns)) for f in raw]


def _utc(t_ns: float, fmt: str) -> str:
    return (_UNIX_EPOCH + dt.timedelta(microseconds=t_ns / 1000)).strftime(fmt)


def _spat(spat: dict[str, Any], rsu: str, t_ns: int) -> dict[str, Any]:
    inters = []
    for it in spat["intersections"]:
        phases = []
        for ph in it["phases"]:
            state = ph["phaseStates"][0]
            counting = state.get("timing", {}).get("counting", {})
            end_ns = t_ns + counting.get("likelyEndTime", 0) * 100_000_000  # 0.1 s units
            phases.append({"phaseId": ph["id"], "phaseStates": {
                "light": state["light"], "timing": _utc(end_ns, "%Y-%m-%d %H:%M:%S")}})
        inters.append({"intersectionId": it["intersectionId"]["id"], "status": it["status"],
                       "phases": phases})
    return {"name": rsu, "intersections": inters}


def _absolute(ref: dict[str, int], offset: dict[str, Any] | None) -> dict[str, int | None]:
    """An absolute position [1e-7 deg] from a reference and a PositionOffsetLLV."""
    lat, lon = ref["lat"], ref["long"]
    if offset:
        (form, value), = offset["offsetLL"].items()
        if form == "position-LatLon":
            return {"lat": value["lat"], "lon": value["lon"], "ele": None}
        lat, lon = lat + value["lat"], lon + value["lon"]
    return {"lat": lat, "lon": lon, "ele": None}


def _event_class(event_type: int) -> str:
    """cerebrum's class of an eventType code (drivers.py ``rsi_dawnline``)."""
    if event_type in _ADVERSE_WEATHER:
        return "AdverseWeather"
    return "AbnormalTraffic" if event_type in _ABNORMAL_TRAFFIC else "AbnormalVehicle"


def _rsi(rsi: dict[str, Any], rsu: str, t_ns: int) -> dict[str, Any]:
    datas = []
    for rte in rsi.get("rtes", []):
        etype = rte["eventType"]
        pos = _absolute(rsi["refPos"], rte.get("eventPos"))
        prio = rte.get("priority")  # the ASN.1 JSON's Priority octet, hex ("a0")
        datas.append({
            "alertID": rte["rteId"], "duration": 0, "eventStatus": True,
            "timeStamp": _utc(t_ns, "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "eventClass": _event_class(etype),
            "eventType": etype, "eventSource": rte.get("eventSource"),
            "eventPosition": {"lat": pos["lat"], "lon": pos["lon"]},
            "eventRadius": rte.get("eventRadius"),
            "eventDescription": rte.get("description", {}).get("textString"),
            "eventPriority": None if prio is None else int(prio, 16)})
    return {"rsiSourceType": "rsu", "rsiSourceId": rsu, "rsiDatas": datas}


def _rsm(rsm: dict[str, Any], rsu: str) -> dict[str, Any]:
    ref = rsm["refPos"]
    parts = [{"ptcType": p["ptcType"], "ptcId": p["ptcId"], "source": p["source"],
              "secMark": p["secMark"], "pos": _absolute(ref, p["pos"]), "speed": p["speed"],
              "heading": p["heading"], "lane": None, "size": p.get("size")}
             for p in rsm.get("participants", [])]
    return {"name": rsu, "id": rsu, "content": {"rsms": [
        {"refPos": {"lat": ref["lat"], "lon": ref["long"], "ele": None},
         "participants": parts}]}}


def rsi_from_openv2x(payload: bytes, *, now_ns: int) -> Rsi:
    """The RSI of an OpenV2X RSI JSON payload (the ``V2X/RSU/{esn}/RSI/DOWN`` downlink).

    The events are the ``rsiDatas`` list (cerebrum ``transform_driver/rsi_service.py``
    publishes it; dandelion ``mqtt/service/algorithm/rsi.py`` reads it) or the single
    ``rsi`` object dandelion's handler read before commit 95d7085. Per event:

    - ``alertID``: int or decimal text (cerebrum passes the device's ``event_id`` text,
      dandelion's schema is int) -> ``rteId`` = value mod 256; absent: the event's index;
    - ``eventType``: int (GB/T 29100 code);
    - ``eventSource``: the EventSource name (``"police"``, dandelion's enum) or number 0..5;
    - ``eventPosition`` {``lat``, ``lon``}: JSON integers [1e-7 deg] (cerebrum
      ``function_test/rsi.tavern``, ``consts.CoordinateUnit = 10**7``), |lat| <= 90 deg,
      |lon| <= 180 deg; a float (degrees, ``39.05``) is an error, not 3.9e-6 deg;
    - ``eventRadius`` [0.1 m]; ``eventDescription`` text;
    - ``eventPriority``: the Priority octet as hex text (``"a0"``) or int value (``160``,
      reserved low 5 bits zero), or the level 0..7 as int (the two int forms overlap only
      at 0, level 0 either way).

    The RSI's refPos is the first event's position, its id 8 zero bytes (the platform names
    its source in ``rsiSourceId``, text), its time ``now_ns`` [ns UTC], msgCnt 0 (the RSU
    numbers what it broadcasts).

    Raises DecodeError naming what is missing, of the wrong type or out of range (at most 8
    events, at least 1).
    """
    try:
        obj = json.loads(payload)
        datas = obj["rsiDatas"] if "rsiDatas" in obj else [obj["rsi"]]
        if not isinstance(datas, list):
            raise DecodeError(f"OpenV2X RSI rsiDatas is not a list: {datas!r:.60}")
        events = tuple(_rte(i, d) for i, d in enumerate(datas))
        if not events:
            raise DecodeError("an OpenV2X RSI without rsiDatas")
        ref = events[0].pos
        assert ref is not None
        return Rsi(msg_cnt=0, id=bytes(8), ref_pos=ref, events=events, timestamp_ns=now_ns)
    except DecodeError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, EncodeError) as exc:
        raise DecodeError(f"not an OpenV2X RSI: {type(exc).__name__}: {exc}") from exc


def _int(d: dict[str, Any], key: str) -> int:
    """``d[key]`` as an int: a JSON integer or decimal text; DecodeError otherwise."""
    v = d[key]
    if isinstance(v, str) and v.strip().lstrip("+-").isdigit():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise DecodeError(f"OpenV2X RSI {key} is not an integer: {v!r}")
    return v


def _coordinate(pos: dict[str, Any], key: str, limit: int) -> float:
    """``pos[key]`` [1e-7 deg] in degrees; DecodeError unless an integer within +-limit."""
    v = pos[key]
    if isinstance(v, bool) or not isinstance(v, int) or abs(v) > limit:
        raise DecodeError(f"OpenV2X RSI eventPosition {key} must be an integer within "
                          f"+-{limit} [1e-7 deg], got {v!r}")
    return v * 1e-7


def _priority(prio: object) -> int | None:
    """The priority level 0..7 of an ``eventPriority`` (see :func:`rsi_from_openv2x`)."""
    if prio is None:
        return None
    if isinstance(prio, str):
        return int(prio, 16) >> 5
    if isinstance(prio, int) and not isinstance(prio, bool):
        if 0 <= prio <= 7:
            return prio
        if 0 <= prio <= 255 and prio % 32 == 0:
            return prio >> 5
    raise DecodeError(f"OpenV2X RSI eventPriority must be a level 0..7, a Priority octet "
                      f"0..255 with its low 5 bits zero or its hex text, got {prio!r}")


def _rte(i: int, d: dict[str, Any]) -> RoadTrafficEvent:
    pos = d["eventPosition"]
    radius = d.get("eventRadius")
    source = d.get("eventSource") or 0  # the ASN.1 JSON's name ("police") or its number
    return RoadTrafficEvent(
        rte_id=(_int(d, "alertID") if "alertID" in d else i) % 256,
        event_type=_int(d, "eventType"),
        source=EventSource[source.upper()] if isinstance(source, str) else EventSource(source),
        pos=Position3D(lat_deg=_coordinate(pos, "lat", _LAT_MAX),
                       lon_deg=_coordinate(pos, "lon", _LON_MAX)),
        radius_m=None if radius is None else float(radius) / 10.0,
        description=d.get("eventDescription"),
        priority=_priority(d.get("eventPriority")))
