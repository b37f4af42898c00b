"""JSON form of SPAT and MAP: ASN.1 field names and standard units, as platforms exchange.

There is one JSON writer, :func:`v2x.messages.frame_to_json` (the ASN.1 value the UPER codec
encodes, with its field names): :func:`spat_to_json` and :func:`map_to_json` are its
``spatFrame`` / ``mapFrame``, and the templates below give the same bytes (tested). This module
keeps the standard-unit helpers the codec shares and the fast templates.

Field names follow the T/CSAE 53-2020 ASN.1 modules (``msgCnt``, ``intersections``,
``phaseStates``, ``likelyEndTime``, ``inLinks``, ``connectsTo``, ``phaseId`` ...); values are
in the standard's units: TimeMark (0.1 s) for counting-mode timing, 1e-7 degree for positions,
1 cm for widths, 0.02 m/s for speeds; enumerations as their ASN.1 identifiers; bit strings as
integers (bit 0 = least significant). "Unknown" likelyEndTime is TimeMark 36001.
Positions of points are the shortest ``OffsetLL`` form that holds them (as the UPER codec
encodes them).

The simulation's per-step path does not build message objects: :class:`SpatJsonTemplate` and
:class:`StaticMapJson` hold the static parts pre-encoded and format only the changing numbers,
giving the same bytes as ``to_json_bytes`` of ``spat_to_json`` / ``map_to_json`` (tested).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from collections.abc import Sequence
from typing import Any

from v2x.errors import EncodeError
from v2x.messages import _units as u
from v2x.messages._map import MapData, MapNode, NodeReferenceId
from v2x.messages._spat import LightState, Spat

__all__ = ["LIGHT_STATE_NAMES", "SpatJsonTemplate", "StaticMapJson", "map_to_json", "spat_to_json",
           "to_json_bytes"]

#: LightState -> ASN.1 identifier (J2735 MovementPhaseState, as used by T/CSAE 53)
LIGHT_STATE_NAMES = {
    LightState(0): "unavailable",
    LightState(1): "dark",
    LightState(2): "flashing-red",
    LightState(3): "red",
    LightState(4): "flashing-green",
    LightState(5): "permissive-green",
    LightState(6): "protected-green",
    LightState(7): "yellow",
    LightState(8): "flashing-yellow",
}
_LIGHT_NAMES = {int(k): v for k, v in LIGHT_STATE_NAMES.items()}
_NS_PER_DS = 100_000_000
#: a time [ns] plus half a TimeMark at or above this is TimeMark 36000 (>= 1 h)
_TM_CAP_NS = u.TIME_MARK_BEYOND_HOUR * _NS_PER_DS
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _tm(ns: int | None, *, unknown: int = u.TIME_MARK_UNKNOWN) -> int:
    """A duration [ns] from now as TimeMark (0.1 s), 36000 when >= 1 h, ``unknown`` if None."""
    if ns is None:
        return unknown
    return int(min((ns + _NS_PER_DS // 2) // _NS_PER_DS, u.TIME_MARK_BEYOND_HOUR))


def _node_id(n: NodeReferenceId) -> dict[str, int]:
    out = {"id": n.id}
    if n.region is not None:
        out["region"] = n.region
    return out


@functools.lru_cache(maxsize=8)
def _moy_sec(timestamp_ns: int) -> tuple[int, int]:
    """(MinuteOfTheYear, DSecond) of a UTC instant [ns since the Unix epoch]: exactly
    ``u.minute_of_year`` and ``u.sec_mark`` (tested), in integer arithmetic (the numpy versions
    cost ~35 us per scalar). Cached: every RSU stamps the same instant in a step."""
    if timestamp_ns < 0:  # u raises the error
        return int(u.minute_of_year(_EPOCH, timestamp_ns)), int(u.sec_mark(_EPOCH, timestamp_ns))
    ms = (timestamp_ns + 500_000) // 1_000_000  # nearest ms, ties up (as u does)
    minute, sec = divmod(ms, 60_000)
    year = (_EPOCH + dt.timedelta(minutes=minute)).year  # UTC
    year_start = (dt.datetime(year, 1, 1, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(minutes=1)
    return minute - year_start, sec


def spat_template_inputs(lights: Sequence[int], likely_end_after_ns: Sequence[int],
                         next_start_after_ns: Sequence[int], next_duration_ns: Sequence[int]
                         ) -> tuple[list[int], list[int], list[int], list[int]]:
    """The per-group inputs of a SPAT template (JSON or UPER) as int lists, checked.

    Raises EncodeError when the four sequences differ in length or a light is outside
    LightState 0..8.
    """
    out = ([int(v) for v in lights], [int(v) for v in likely_end_after_ns],
           [int(v) for v in next_start_after_ns], [int(v) for v in next_duration_ns])
    if not len(out[0]) == len(out[1]) == len(out[2]) == len(out[3]):
        raise EncodeError("SPAT template: lights and timing arrays differ in length")
    if any(v not in _LIGHT_NAMES for v in out[0]):
        raise EncodeError(f"SPAT template: a light outside LightState 0..8 in {out[0]}")
    return out


class SpatJsonTemplate:
    """SPAT JSON bytes of one intersection in one signal state, with the static parts encoded
    once: only msgCnt, the timestamp and the counting-down times are formatted per message.

    A *state* is what stays fixed while one phase of a signal program runs: each signal group's
    light, and its timing relative to the end of the running phase. :meth:`encode` gives
    exactly ``to_json_bytes(spat_to_json(Spat(msg_cnt, (state,), timestamp_ns)))`` (tested)
    for the ``IntersectionState`` ``state`` with

    * ``intersection_id``, ``status``, ``timestamp_ns``;
    * phase ``g + 1`` for group ``g``, with one ``PhaseState``: light ``lights[g]``, counting
      timing with ``start_time_ns = 0``, ``likely_end_time_ns = likely_end_after_ns[g] +
      remaining_ns`` (``None`` when -1), ``min_end_time_ns = max_end_time_ns`` = likely when
      ``fixed_time`` (else ``None``), ``next_start_time_ns = next_start_after_ns[g] +
      remaining_ns`` and ``next_duration_ns = next_duration_ns[g]`` (``None`` when -1).

    Args:
        intersection_id: the intersection's node reference id.
        status: IntersectionStatusObject bits.
        lights: (k,) LightState values.
        likely_end_after_ns, next_start_after_ns: (k,) int [ns] from the end of the running
            phase until the light changes / starts again; -1 = unknown.
        next_duration_ns: (k,) int [ns] length of the light's next run; -1 = unknown.
        fixed_time: min/max end equal the likely end.

    Raises:
        EncodeError: arrays of different lengths, or an unknown light.
    """

    __slots__ = ("_max_offset", "_offsets", "_pick_stamped", "_pick_unstamped", "_stamped",
                 "_unstamped")
    _MARK = "\ue000"  # a placeholder string json.dumps leaves as is (ensure_ascii=False)

    def __init__(self, *, intersection_id: NodeReferenceId, status: int,
                 lights: Sequence[int], likely_end_after_ns: Sequence[int],
                 next_start_after_ns: Sequence[int], next_duration_ns: Sequence[int],
                 fixed_time: bool) -> None:
        lights, likely, nxt, dur = spat_template_inputs(
            lights, likely_end_after_ns, next_start_after_ns, next_duration_ns)
        mark = self._MARK
        offsets: list[int] = []  # per placeholder, in order: [ns] added to the remaining time
        phases = []
        for g, light in enumerate(lights):
            counting: dict[str, Any] = {"startTime": 0}
            if likely[g] >= 0:
                counting["likelyEndTime"] = mark
                offsets.append(likely[g])
                if fixed_time:
                    counting["minEndTime"] = counting["maxEndTime"] = mark
                    offsets += [likely[g], likely[g]]
            else:
                counting["likelyEndTime"] = u.TIME_MARK_UNKNOWN
            if nxt[g] >= 0:
                counting["nextStartTime"] = mark
                offsets.append(nxt[g])
            if dur[g] >= 0:
                counting["nextDuration"] = _tm(dur[g])
            phases.append({"id": g + 1, "phaseStates": [
                {"light": _LIGHT_NAMES[light], "timing": {"counting": counting}}]})
        # each distinct offset is computed once per message; an itemgetter spreads the values
        # (msgCnt, moy, timeStamp, times...) over the holes of the template
        uniq = list(dict.fromkeys(offsets))
        slots = [3 + uniq.index(o) for o in offsets]
        self._offsets = uniq
        self._max_offset = max(uniq, default=0)
        self._stamped = self._format(intersection_id, status, phases, stamped=True)
        self._unstamped = self._format(intersection_id, status, phases, stamped=False)
        self._pick_stamped = operator.itemgetter(0, 1, 2, 2, *slots)
        self._pick_unstamped = operator.itemgetter(0, *slots)

    @classmethod
    def _format(cls, intersection_id: NodeReferenceId, status: int,
                phases: list[dict[str, Any]], *, stamped: bool) -> bytes:
        # the key order of spat_to_json; msgCnt, moy, timeStamp x2 and the times are holes
        mark = cls._MARK
        inter: dict[str, Any] = {"intersectionId": _node_id(intersection_id),
                                 "status": int(status)}
        if stamped:
            inter["timeStamp"] = mark
        inter["phases"] = phases
        head: dict[str, Any] = {"msgCnt": mark}
        if stamped:
            head |= {"moy": mark, "timeStamp": mark}
        text = json.dumps({**head, "intersections": [inter]}, separators=(",", ":"),
                          ensure_ascii=False)
        return text.replace("%", "%%").replace(f'"{mark}"', "%d").encode("utf-8")

    def encode(self, msg_cnt: int, timestamp_ns: int | None, remaining_ns: int) -> bytes:
        """The SPAT's JSON bytes.

        Args:
            msg_cnt: 0..127.
            timestamp_ns: UTC [ns since the Unix epoch] of the message and intersection
                state, or ``None``.
            remaining_ns: [ns] until the running phase ends; a negative value counts as 0.
        """
        r = (remaining_ns if remaining_ns > 0 else 0) + _NS_PER_DS // 2
        if timestamp_ns is None:
            moy = sec = 0
        else:
            moy, sec = _moy_sec(timestamp_ns)
        if self._max_offset + r < _TM_CAP_NS:  # no time reaches an hour (the usual case)
            values = [msg_cnt, moy, sec, *[(o + r) // _NS_PER_DS for o in self._offsets]]
        else:
            values = [msg_cnt, moy, sec, *[min((o + r) // _NS_PER_DS, u.TIME_MARK_BEYOND_HOUR)
                                           for o in self._offsets]]
        if timestamp_ns is None:
            return self._unstamped % self._pick_unstamped(values)
        return self._stamped % self._pick_stamped(values)


def spat_to_json(spat: Spat) -> dict[str, Any]:
    """The JSON form of a SPAT (T/CSAE 53-2020 SPAT field names and units): the ``spatFrame``
    of :func:`v2x.messages.frame_to_json`, the one JSON writer. Raises EncodeError as
    ``encode_frame``."""
    from v2x.messages._uper import frame_to_json  # _uper imports this module's helpers

    value: dict[str, Any] = frame_to_json(spat)["spatFrame"]
    return value


def map_to_json(map_data: MapData) -> dict[str, Any]:
    """The JSON form of a MAP (T/CSAE 53-2020 MapData field names and units): the
    ``mapFrame`` of :func:`v2x.messages.frame_to_json`, the one JSON writer (points in the
    shortest ``OffsetLL`` form, as on the air). Raises EncodeError as ``encode_frame``."""
    from v2x.messages._uper import frame_to_json  # _uper imports this module's helpers

    value: dict[str, Any] = frame_to_json(map_data)["mapFrame"]
    return value


class StaticMapJson:
    """MAP JSON bytes with the static node geometry encoded once.

    ``encode(msg_cnt, timestamp_ns)`` returns exactly
    ``to_json_bytes(map_to_json(MapData(msg_cnt, nodes, timestamp_ns)))`` (tested), splicing
    the two fields that change between broadcasts in front of the pre-encoded nodes.
    """

    def __init__(self, nodes: tuple[MapNode, ...]) -> None:
        body = map_to_json(MapData(0, tuple(nodes)))  # the nodes do not depend on the rest
        self._nodes = to_json_bytes({"nodes": body["nodes"]})[1:]  # '"nodes":[...]}'

    def encode(self, msg_cnt: int, timestamp_ns: int | None) -> bytes:
        """The MAP's JSON bytes with this msgCnt and timestamp (UTC [ns] or None)."""
        head = f'{{"msgCnt":{int(msg_cnt)},'
        if timestamp_ns is not None:
            head += f'"timeStamp":{_moy_sec(int(timestamp_ns))[0]},'
        return head.encode() + self._nodes


def to_json_bytes(obj: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON bytes of a message's JSON form."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
