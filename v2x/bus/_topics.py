"""The topic table: the one place that says who publishes and who hears what on the bus.

Scheme (after deployed vehicle-road-cloud platforms: RSU uplink and downlink per message type)::

    v2x/{zone}/rsu/{rsu_id}/up/{bsm|spat|map|rsi|rsm}  RSU -> cloud: what it heard and sent
    v2x/{zone}/rsu/{rsu_id}/down/rsi                   cloud -> RSU: events, signs to broadcast
    v2x/{zone}/obu/{vehicle_id}/up/bsm                 OBU -> cloud over the cellular Uu link
    v2x/{zone}/sim/{clock|warnings|events}             simulation telemetry: run control, app
                                                       warnings, ground-truth safety events

Topic names and filters follow MQTT 3.1.1 section 4.7 (OASIS, 2014): ``/`` separates levels,
``+`` matches exactly one level (which may be empty), ``#`` matches the parent level and any
number of child levels and must be last, and topics starting with ``$`` are not matched by a
filter whose first level is a wildcard.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from v2x.errors import ConfigError
from v2x.msgset import MSG_TYPES

__all__ = [
    "MSG_TYPES",
    "OPENV2X_TOPICS",
    "PROFILES",
    "SIM_TOPICS",
    "TOPICS",
    "RunTopics",
    "TopicInfo",
    "TopicSpec",
    "obu_up_bsm",
    "parse_topic",
    "rsu_down_rsi",
    "rsu_up",
    "sim_topic",
    "topic_matches",
    "topic_qos",
    "validate_filter",
    "validate_topic",
    "zone_filter",
]


#: Names of the simulation telemetry topics ``v2x/{zone}/sim/{name}``.
SIM_TOPICS: tuple[str, ...] = ("clock", "warnings", "events")

_MAX_TOPIC_BYTES = 65535  # MQTT 3.1.1 section 1.5.3: UTF-8 string length prefix is 16 bits


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One row of the topic table.

    Attributes:
        pattern: topic template, placeholders in braces, e.g. ``"v2x/{zone}/rsu/{rsu_id}/up/bsm"``.
        msg_type: what the payload is: a V2X message type (``"BSM"``, ``"MAP"``, ``"SPAT"``,
            ``"RSI"``, ``"RSM"``; UPER bytes by default) or a telemetry name (``"clock"``,
            ``"warnings"``, ``"events"``; JSON).
        direction: ``"up"`` (to the cloud), ``"down"`` (cloud to RSU) or ``"sim"`` (telemetry).
        publishers: components that publish on it (``"rsu"``, ``"obu"``, ``"cloud"``,
            ``"simulation"``).
        subscribers: components that subscribe to it (``"cloud"``, ``"rsu"``, ``"recorder"``,
            ``"external"`` for applications outside the testbed).
        description: one line for humans.
        qos: the MQTT QoS it is published with: 0 (at most once) for what is sent again
            every 100 ms anyway (BSM forwards, SPAT, the clock), 1 (at least once) for the
            rest; :func:`topic_qos`.
    """

    pattern: str
    msg_type: str
    direction: str
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    description: str
    qos: int = 1

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Names of the placeholders in ``pattern``, in order, e.g. ``("zone", "rsu_id")``."""
        return tuple(lv[1:-1] for lv in self.pattern.split("/") if lv.startswith("{"))

    def format(self, **ids: str | int) -> str:
        """The concrete topic for the given ids.

        Raises ConfigError when an id is missing, unknown or not a valid topic level.
        """
        return self._fill(ids, wildcard=False)

    def filter(self, **ids: str | int) -> str:
        """A subscription filter: placeholders given in ``ids`` are filled, the others are ``+``.

        Example: ``spec.filter(zone="xiqing")`` -> ``"v2x/xiqing/rsu/+/up/bsm"``.
        Raises ConfigError when an id is unknown or not a valid topic level.
        """
        return self._fill(ids, wildcard=True)

    def _fill(self, ids: dict[str, str | int], *, wildcard: bool) -> str:
        names = self.placeholders
        unknown = sorted(set(ids) - set(names))
        if unknown:
            raise ConfigError(
                f"topic {self.pattern!r} has no placeholder {unknown[0]!r} (has {list(names)})",
                key=unknown[0],
                value=ids[unknown[0]],
            )
        out = []
        for level in self.pattern.split("/"):
            if level.startswith("{"):
                name = level[1:-1]
                if name in ids:
                    out.append(_check_id(name, ids[name]))
                elif wildcard:
                    out.append("+")
                else:
                    raise ConfigError(f"topic {self.pattern!r} needs {name!r}", key=name)
            else:
                out.append(level)
        return "/".join(out)


_RSU_UP_SUBSCRIBERS = ("cloud", "recorder", "external")

#: Every topic of the testbed. Publishers and subscribers name components, not instances.
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/up/bsm",
        "BSM",
        "up",
        ("rsu",),
        _RSU_UP_SUBSCRIBERS,
        "BSMs an RSU received over PC5, forwarded to the cloud platform",
        0,
    ),
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/up/spat",
        "SPAT",
        "up",
        ("rsu",),
        _RSU_UP_SUBSCRIBERS,
        "SPAT the RSU broadcast (signal phase and timing of its intersection)",
        0,
    ),
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/up/map",
        "MAP",
        "up",
        ("rsu",),
        _RSU_UP_SUBSCRIBERS,
        "MAP the RSU broadcast (intersection and lane geometry)",
    ),
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/up/rsi",
        "RSI",
        "up",
        ("rsu",),
        _RSU_UP_SUBSCRIBERS,
        "RSI the RSU broadcast (road events and signs)",
    ),
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/up/rsm",
        "RSM",
        "up",
        ("rsu",),
        _RSU_UP_SUBSCRIBERS,
        "RSM the RSU broadcast (road participants from roadside perception)",
    ),
    TopicSpec(
        "v2x/{zone}/rsu/{rsu_id}/down/rsi",
        "RSI",
        "down",
        ("cloud",),
        ("rsu", "recorder"),
        "RSI from the cloud platform for the RSU to broadcast",
    ),
    TopicSpec(
        "v2x/{zone}/obu/{vehicle_id}/up/bsm",
        "BSM",
        "up",
        ("obu",),
        ("cloud", "recorder", "external"),
        "BSM an OBU sent over the cellular Uu link (V2N), with its own latency model",
        0,
    ),
    TopicSpec(
        "v2x/{zone}/sim/clock",
        "clock",
        "sim",
        ("simulation",),
        ("recorder", "external"),
        "simulation clock every simulated second: {t_ns, utc} (JSON)",
        0,
    ),
    TopicSpec(
        "v2x/{zone}/sim/warnings",
        "warnings",
        "sim",
        ("simulation",),
        ("recorder", "external"),
        "warnings raised by on-board applications, e.g. FCW (JSON)",
    ),
    TopicSpec(
        "v2x/{zone}/sim/events",
        "events",
        "sim",
        ("simulation",),
        ("recorder", "external"),
        "ground-truth safety events: collisions, hard braking (JSON)",
    ),
)


#: The OpenV2X edge platform's RSU topics (open-v2x/dandelion ``dandelion/mqtt/topic.py``,
#: open-v2x/cerebrum ``common/consts.py``): ``V2X/RSU/{esn}/{MSG}/UP|DOWN``, no zone level,
#: JSON payloads with that platform's field names (:mod:`v2x.bus._openv2x`). ``{esn}`` is the
#: RSU's serial number there, the RSU's name here.
OPENV2X_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("V2X/RSU/{esn}/BSM/UP", "BSM", "up", ("rsu",), _RSU_UP_SUBSCRIBERS,
              "BSMs an RSU received over PC5 (JSON bsmFrame list; no dandelion handler: "
              "to verify)", 0),
    TopicSpec("V2X/RSU/{esn}/SPAT/UP", "SPAT", "up", ("rsu",), _RSU_UP_SUBSCRIBERS,
              "SPAT as dandelion's RSUSpatHandler reads it: intersections / phases / "
              "phaseStates {light, timing}", 0),
    TopicSpec("V2X/RSU/{esn}/MAP/UP", "MAP", "up", ("rsu",), _RSU_UP_SUBSCRIBERS,
              "MAP (mapFrame JSON, stored as is by dandelion's MapRouterHandler)"),
    # cerebrum publishes RSI/UP itself (transform_driver/rsi_service.py) and subscribes only
    # V2X/RSU/+/RSI/UP/{driver} (common/app.py): no platform component reads this topic
    TopicSpec("V2X/RSU/{esn}/RSI/UP", "RSI", "up", ("rsu",), ("recorder", "external"),
              "RSI in the JSON cerebrum's rsi_service publishes: rsiSourceType, "
              "rsiSourceId, rsiDatas"),
    TopicSpec("V2X/RSU/{esn}/RSM/UP", "RSM", "up", ("rsu",), _RSU_UP_SUBSCRIBERS,
              "RSM as cerebrum's rsm_std reads it: content.rsms[].participants"),
    TopicSpec("V2X/RSU/{esn}/RSI/DOWN", "RSI", "down", ("cloud",), ("rsu", "recorder"),
              "RSI from the cloud platform for the RSU to broadcast (cerebrum RSI_DOWN_TOPIC; "
              "dandelion's RSIRouterHandler stores it)"),
)

#: Topic profiles by name (``v2x run --topics``): ``v2x``, the project's own scheme (UPER or
#: JSON payloads), and ``openv2x``, compatible with the OpenV2X edge platform.
PROFILES: dict[str, tuple[TopicSpec, ...]] = {"v2x": TOPICS, "openv2x": OPENV2X_TOPICS}


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a concrete topic is, from :func:`parse_topic`.

    Attributes:
        spec: the row of a profile (:data:`PROFILES`) it matches.
        zone: the zone level ("" in a profile without one: ``openv2x``).
        node_kind: ``"rsu"``, ``"obu"`` or ``"sim"``.
        node_id: the RSU or vehicle id level (``None`` for sim topics).
        direction: ``spec.direction``.
        msg_type: ``spec.msg_type``.
    """

    spec: TopicSpec
    zone: str
    node_kind: str
    node_id: str | None
    direction: str
    msg_type: str


# ---------------------------------------------------------------------------------------------
# validation


def _check_id(name: str, value: object) -> str:
    """One topic level from an id; raises ConfigError naming the value when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(
            f"{name} must be a str or int, got {type(value).__name__} {value!r}",
            key=name,
            value=value,
        )
    text = str(value)
    if not text:
        raise ConfigError(f"{name} must not be empty", key=name, value=value)
    for bad in ("+", "#", "/", "\x00"):
        if bad in text:
            raise ConfigError(
                f"{name} {text!r} contains {bad!r}, which cannot appear inside a topic level",
                key=name,
                value=value,
            )
    return text


def validate_topic(topic: str) -> str:
    """Check a topic name one publishes to (MQTT 3.1.1 section 4.7.3) and return it.

    Raises ConfigError (key ``topic``) when it is empty, contains ``+``, ``#`` or NUL, or is
    longer than 65535 UTF-8 bytes.
    """
    if not isinstance(topic, str) or not topic:
        raise ConfigError(f"topic must be a non-empty str, got {topic!r}", key="topic", value=topic)
    if "+" in topic or "#" in topic or "\x00" in topic:
        raise ConfigError(
            f"topic {topic!r} contains a wildcard or NUL; publish to a concrete topic",
            key="topic",
            value=topic,
        )
    if len(topic.encode()) > _MAX_TOPIC_BYTES:
        raise ConfigError("topic is longer than 65535 UTF-8 bytes", key="topic", value=topic)
    return topic


def validate_filter(pattern: str) -> str:
    """Check a subscription filter (MQTT 3.1.1 section 4.7.1) and return it.

    Raises ConfigError (key ``pattern``) when it is empty, contains NUL, ``#`` is not the whole
    last level, or ``+`` is not a whole level.
    """
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(
            f"subscription filter must be a non-empty str, got {pattern!r}",
            key="pattern",
            value=pattern,
        )
    _filter_levels(pattern)
    return pattern


@functools.lru_cache(maxsize=1024)
def _filter_levels(pattern: str) -> tuple[str, ...]:
    if "\x00" in pattern:
        raise ConfigError("subscription filter contains NUL", key="pattern", value=pattern)
    if len(pattern.encode()) > _MAX_TOPIC_BYTES:
        raise ConfigError(
            "subscription filter is longer than 65535 UTF-8 bytes", key="pattern", value=pattern
        )
    levels = tuple(pattern.split("/"))
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ConfigError(
                f"filter {pattern!r}: '#' must be a whole level and the last one",
                key="pattern",
                value=pattern,
            )
        if "+" in level and level != "+":
            raise ConfigError(
                f"filter {pattern!r}: '+' must be a whole level",
                key="pattern",
                value=pattern,
            )
    return levels


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether the subscription filter ``pattern`` matches the topic name ``topic``.

    MQTT 3.1.1 section 4.7: ``+`` matches exactly one level, which may be empty
    (``"a/+"`` matches ``"a/"`` but not ``"a"``); ``#`` matches the parent level and any number
    of child levels (``"a/#"`` matches ``"a"``, ``"a/"`` and ``"a/b/c"``); a topic starting with
    ``$`` is not matched by a filter whose first level is ``+`` or ``#`` (section 4.7.2).

    Raises ConfigError when ``pattern`` is not a valid filter.
    """
    if not pattern:
        validate_filter(pattern)
    if "+" not in pattern and "#" not in pattern:
        _filter_levels(pattern)  # validates NUL and length, cached
        return pattern == topic
    f_levels = _filter_levels(pattern)
    if topic.startswith("$") and f_levels[0] in ("+", "#"):
        return False
    t_levels = topic.split("/")
    n_f = len(f_levels)
    for i, level in enumerate(f_levels):
        if level == "#":
            return True  # validated: last level; covers the parent (i == len(t_levels))
        if i >= len(t_levels):
            return False
        if level != "+" and level != t_levels[i]:
            return False
    return n_f == len(t_levels)


# ---------------------------------------------------------------------------------------------
# builders


def _spec(pattern: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.pattern == pattern:
            return spec
    raise LookupError(pattern)  # pragma: no cover - table is static


_RSU_UP = {
    spec.msg_type: spec for spec in TOPICS if "/rsu/" in spec.pattern and spec.direction == "up"
}
_RSU_DOWN_RSI = _spec("v2x/{zone}/rsu/{rsu_id}/down/rsi")
_OBU_UP_BSM = _spec("v2x/{zone}/obu/{vehicle_id}/up/bsm")
_SIM = {spec.msg_type: spec for spec in TOPICS if spec.direction == "sim"}


def rsu_up(zone: str, rsu_id: str | int, msg_type: str) -> str:
    """RSU uplink topic ``v2x/{zone}/rsu/{rsu_id}/up/{msg}`` for one of :data:`MSG_TYPES`.

    ``msg_type`` is case-insensitive (``"BSM"`` or ``"bsm"``); the topic level is lower case.
    Raises ConfigError (key ``zone``, ``rsu_id`` or ``msg_type``) naming a bad value.
    """
    spec = _RSU_UP.get(msg_type.upper()) if isinstance(msg_type, str) else None
    if spec is None:
        raise ConfigError(
            f"msg_type {msg_type!r} is not one of {list(MSG_TYPES)}", key="msg_type", value=msg_type
        )
    return spec.format(zone=zone, rsu_id=rsu_id)


def rsu_down_rsi(zone: str, rsu_id: str | int) -> str:
    """Downlink topic ``v2x/{zone}/rsu/{rsu_id}/down/rsi`` (cloud -> RSU).

    Raises ConfigError (key ``zone`` or ``rsu_id``) naming a bad value.
    """
    return _RSU_DOWN_RSI.format(zone=zone, rsu_id=rsu_id)


def obu_up_bsm(zone: str, vehicle_id: str | int) -> str:
    """V2N uplink topic ``v2x/{zone}/obu/{vehicle_id}/up/bsm`` (OBU over Uu).

    Raises ConfigError (key ``zone`` or ``vehicle_id``) naming a bad value.
    """
    return _OBU_UP_BSM.format(zone=zone, vehicle_id=vehicle_id)


def sim_topic(zone: str, name: str) -> str:
    """Telemetry topic ``v2x/{zone}/sim/{name}``, ``name`` one of :data:`SIM_TOPICS`.

    Raises ConfigError (key ``zone`` or ``name``) naming a bad value.
    """
    spec = _SIM.get(name)
    if spec is None:
        raise ConfigError(
            f"sim topic {name!r} is not one of {list(SIM_TOPICS)}", key="name", value=name
        )
    return spec.format(zone=zone)


def topic_qos(topic: str) -> int:
    """The QoS a message on ``topic`` is published with: its row's ``qos`` in :data:`TOPICS`,
    1 for a topic outside the table."""
    info = parse_topic(topic)
    return 1 if info is None else info.spec.qos


def zone_filter(zone: str | None = None) -> str:
    """Filter for every topic of one zone (``"v2x/{zone}/#"``) or of all zones (``"v2x/#"``).

    Raises ConfigError (key ``zone``) naming a bad value.
    """
    if zone is None:
        return "v2x/#"
    return f"v2x/{_check_id('zone', zone)}/#"


# ---------------------------------------------------------------------------------------------
# parsing


def _compile(spec: TopicSpec) -> tuple[tuple[str | None, ...], TopicSpec]:
    # None marks a placeholder level
    return tuple(None if lv.startswith("{") else lv for lv in spec.pattern.split("/")), spec


_COMPILED = tuple(_compile(spec) for table in PROFILES.values() for spec in table)
_ID_NAMES = ("rsu_id", "esn", "vehicle_id")


@functools.lru_cache(maxsize=8192)
def parse_topic(topic: str) -> TopicInfo | None:
    """What a concrete topic is: its row of :data:`TOPICS` and the ids in it.

    Returns None when the topic is not in the table (e.g. an external application's own topic),
    so a recorder can still keep the message with an empty ``msg_type``.
    Example: ``parse_topic("v2x/xq/rsu/R7/up/spat")`` -> ``TopicInfo(zone="xq", node_kind="rsu",
    node_id="R7", direction="up", msg_type="SPAT", ...)``.
    """
    levels = topic.split("/")
    for template, spec in _COMPILED:
        if len(template) != len(levels):
            continue
        values: list[str] = []
        for want, got in zip(template, levels, strict=True):
            if want is None:
                if not got or "+" in got or "#" in got:
                    break
                values.append(got)
            elif want != got:
                break
        else:
            ids = dict(zip(spec.placeholders, values, strict=True))
            node = [n for n in _ID_NAMES if n in ids]
            kind = ("obu" if node == ["vehicle_id"] else "rsu") if node else "sim"
            return TopicInfo(
                spec=spec,
                zone=ids.get("zone", ""),
                node_kind=kind,
                node_id=ids[node[0]] if node else None,
                direction=spec.direction,
                msg_type=spec.msg_type,
            )
    return None


class RunTopics:
    """The concrete topics of one run: a profile of :data:`PROFILES` and the run's zone.

    ::

        topics = RunTopics("openv2x", zone="xiqing")
        topics.rsu_up("B1", "SPAT")   # "V2X/RSU/B1/SPAT/UP"
        topics.run_filter             # "V2X/RSU/#": what the run's recorder subscribes to

    Raises ConfigError (key ``topics``) for an unknown profile, (key ``zone``, ``rsu_id`` ...)
    for an id that cannot be a topic level.
    """

    def __init__(self, profile: str = "v2x", *, zone: str = "xiqing") -> None:
        if profile not in PROFILES:
            raise ConfigError(f"topic profile {profile!r} is not one of {sorted(PROFILES)}",
                              key="topics", value=profile)
        self.profile = profile
        self.zone = _check_id("zone", zone)
        self.specs = PROFILES[profile]
        self._up = {sp.msg_type: sp for sp in self.specs
                    if sp.direction == "up" and sp.placeholders[-1] in ("rsu_id", "esn")}
        self._down = next(sp for sp in self.specs if sp.direction == "down")

    def _fill(self, spec: TopicSpec, rsu: str | int) -> str:
        ids: dict[str, str | int] = {"zone": self.zone} if "zone" in spec.placeholders else {}
        ids[spec.placeholders[-1]] = rsu
        return spec.format(**ids)

    def rsu_up(self, rsu: str | int, msg_type: str) -> str:
        """The uplink topic of RSU ``rsu`` for ``msg_type`` (one of MSG_TYPES, any case)."""
        spec = self._up.get(msg_type.upper()) if isinstance(msg_type, str) else None
        if spec is None:
            raise ConfigError(f"msg_type {msg_type!r} is not one of {list(MSG_TYPES)}",
                              key="msg_type", value=msg_type)
        return self._fill(spec, rsu)

    def rsu_up_filter(self, msg_type: str) -> str:
        """The filter of every RSU's uplink of ``msg_type`` in the run's zone, e.g.
        ``"v2x/xiqing/rsu/+/up/bsm"`` (what a cloud application subscribes to)."""
        spec = self._up.get(msg_type.upper()) if isinstance(msg_type, str) else None
        if spec is None:
            raise ConfigError(f"msg_type {msg_type!r} is not one of {list(MSG_TYPES)}",
                              key="msg_type", value=msg_type)
        return spec.filter(**({"zone": self.zone} if "zone" in spec.placeholders else {}))

    def rsu_down_rsi(self, rsu: str | int) -> str:
        """The downlink (cloud -> RSU) RSI topic of RSU ``rsu``."""
        return self._fill(self._down, rsu)

    def obu_up_bsm(self, vehicle: str | int) -> str:
        """The V2N (cellular Uu) BSM uplink of OBU ``vehicle``. Raises ConfigError (key
        ``topics``) in a profile without one (``openv2x``)."""
        if self.profile != "v2x":
            raise ConfigError(f"topic profile {self.profile!r} has no OBU uplink",
                              key="topics", value=self.profile)
        return obu_up_bsm(self.zone, vehicle)

    @property
    def run_filter(self) -> str:
        """The filter covering every topic of the run (its recorder's tap)."""
        return zone_filter(self.zone) if self.profile == "v2x" else "V2X/RSU/#"

    @property
    def payload(self) -> str:
        """How payloads are written: ``"openv2x"`` (that platform's JSON) or ``"run"``
        (the run's ``--payload``: UPER or the ASN.1 JSON form)."""
        return "openv2x" if self.profile == "openv2x" else "run"
