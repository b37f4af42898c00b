"""``[[events]]``: scripted events, a trigger and the actions it sets off.

::

    [[events]]
    name = "lead brakes"
    trigger = {kind = "gap", a = "host", b = "lead", op = "<=", value = 30}
    actions = [{kind = "brake", target = "lead", decel = 6.0, speed_kmh = 0}]

Triggers (``kind``): ``time`` (``at``, a duration from the start), ``gap`` / ``distance`` /
``ttc`` between two named participants ``a`` and ``b`` (``op`` one of ``< <= > >=``, ``value``
in m or s; gap = from a's front bumper to b's rear bumper along the lane, TTC = gap / closing
speed), ``reach`` (``participant`` within ``radius_m`` of ``x``, ``y``, or past ``lane_pos_m``
on its lane). Actions (``kind``, all with ``target``, a SUMO vehicle or person id): ``brake``
(at ``decel`` to ``speed_kmh``, then keep it), ``set_speed`` (``speed_kmh``, optional
``decel``), ``change_lane`` (``lane`` index), ``stop_in_lane`` (brake at ``decel`` to a
standstill, hold ``hold``), ``release`` (give control back to SUMO), ``cross`` (a pedestrian
starts crossing), ``rsi_raise`` / ``rsi_clear`` (``target`` = an ``[[rsi.events]]`` id),
``signal`` (the vehicle's lights from now on: ``signals`` a list of :data:`SIGNAL_NAMES`, ``[]``
all off) and ``vehicle_event`` (the VehicleEventFlags its BSMs carry from now on: ``events`` a
list of :data:`VEHICLE_EVENT_NAMES`, ``[]`` none)::

    actions = [{kind = "signal", target = "lead", signals = ["hazard"]},
               {kind = "vehicle_event", target = "lead", events = ["abs_activated"]}]

Today's form ``{at = "12 s", kind = "stop", vehicle = "v1", decel = 6.0, hold = "5 s"}`` stays
accepted: it is a ``time`` trigger with one ``stop_in_lane`` action, named ``events[i]``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from scenarios._fields import AS_TUPLE, Duration, DurationOrZero, FieldProblem, Section
from v2x.units import format_duration

__all__ = [
    "ACTION_KINDS",
    "BrakeAction",
    "ChangeLaneAction",
    "CrossAction",
    "EventAction",
    "EventTrigger",
    "PairTrigger",
    "ReachTrigger",
    "ReleaseAction",
    "RsiAction",
    "SIGNAL_NAMES",
    "ScriptedEvent",
    "SetSpeedAction",
    "SignalAction",
    "StopEvent",
    "StopInLaneAction",
    "TimeTrigger",
    "VEHICLE_EVENT_NAMES",
    "VehicleEventAction",
    "event_item",
]

#: the most a scripted deceleration may be [m/s²] (about 1.2 g, beyond any tyre on dry asphalt)
MAX_DECEL = 12.0

_Id = Annotated[str, Field(min_length=1)]
_Decel = Annotated[float, Field(gt=0.0, le=MAX_DECEL, description="[m/s²]")]
_Speed = Annotated[float, Field(ge=0.0, le=300.0, description="[km/h]")]


class TimeTrigger(Section):
    """Fires at ``at`` after the start of the scenario."""

    kind: Literal["time"]
    at_ns: DurationOrZero = Field(alias="at")


class PairTrigger(Section):
    """Fires when the ``kind`` (gap [m], distance [m] or ttc [s]) between participants ``a``
    and ``b`` satisfies ``op value`` (gap: from a's front bumper to b's rear bumper)."""

    kind: Literal["gap", "distance", "ttc"]
    a: _Id
    b: _Id
    op: Literal["<", "<=", ">", ">="]
    value: float = Field(ge=0.0, description="[m] for gap and distance, [s] for ttc")

    @model_validator(mode="after")
    def _two_participants(self) -> PairTrigger:
        if self.a == self.b:
            raise FieldProblem("must name another participant than 'a'", key="b")
        return self


class ReachTrigger(Section):
    """Fires when ``participant`` comes within ``radius_m`` of (``x``, ``y``) [m, network
    coordinates], or passes ``lane_pos_m`` [m] on its lane."""

    kind: Literal["reach"]
    participant: _Id
    x: float | None = None
    y: float | None = None
    radius_m: float = Field(2.0, gt=0.0)
    lane_pos_m: float | None = Field(None, ge=0.0)

    @model_validator(mode="after")
    def _one_place(self) -> ReachTrigger:
        has_xy = self.x is not None or self.y is not None
        if has_xy and (self.x is None or self.y is None):
            raise FieldProblem("give both x and y", key="y" if self.y is None else "x")
        if has_xy == (self.lane_pos_m is not None):
            raise FieldProblem("give either x and y, or lane_pos_m", key="lane_pos_m")
        return self


#: an event trigger, chosen by ``kind``
EventTrigger = Annotated[TimeTrigger | PairTrigger | ReachTrigger, Field(discriminator="kind")]


class _Targeted(Section):
    target: _Id = Field(description="SUMO vehicle or person id")


class BrakeAction(_Targeted):
    """Decelerate at ``decel`` to ``speed_kmh``, then keep that speed."""

    kind: Literal["brake"]
    decel: _Decel = 6.0
    speed_kmh: _Speed = 0.0

    @property
    def speed_mps(self) -> float:
        """The target speed [m/s]."""
        return self.speed_kmh / 3.6


class SetSpeedAction(_Targeted):
    """Drive at ``speed_kmh``, changing speed at ``decel`` (default: the vehicle type's)."""

    kind: Literal["set_speed"]
    speed_kmh: _Speed
    decel: _Decel | None = None

    @property
    def speed_mps(self) -> float:
        """The target speed [m/s]."""
        return self.speed_kmh / 3.6


class ChangeLaneAction(_Targeted):
    """Change to lane index ``lane`` (0 = rightmost) of the current edge."""

    kind: Literal["change_lane"]
    lane: int = Field(ge=0)


class StopInLaneAction(_Targeted):
    """Brake at ``decel`` to a standstill in the lane and hold for ``hold``."""

    kind: Literal["stop_in_lane"]
    decel: _Decel = 6.0
    hold_ns: Duration = Field("5 s", alias="hold", validate_default=True)


class ReleaseAction(_Targeted):
    """Give the target back to SUMO's driver model."""

    kind: Literal["release"]


class CrossAction(_Targeted):
    """A pedestrian starts its crossing now."""

    kind: Literal["cross"]


class RsiAction(_Targeted):
    """Raise or clear the RSI event whose ``[[rsi.events]]`` id is ``target``."""

    kind: Literal["rsi_raise", "rsi_clear"]


#: ``signal`` names -> SUMO signal bit (``vehicle.getSignals()``, SUMO "TraCI/Vehicle
#: Signalling"); "blue" is an emergency vehicle's blue light (its BSM then says siren and
#: light bar in use)
SIGNAL_NAMES: dict[str, int] = {"right": 0, "left": 1, "hazard": 2, "brake": 3, "front": 4,
                                "fog": 5, "high_beam": 6, "blue": 11}
#: ``vehicle_event`` names -> VehicleEventFlags bit (T/CSAE 53 / J2735; hardBraking and
#: hazardLights are set by the OBU itself from the vehicle's deceleration and signals)
VEHICLE_EVENT_NAMES: dict[str, int] = {
    "stop_line_violation": 1, "abs_activated": 2, "traction_control_loss": 3,
    "stability_control_activated": 4, "hazardous_materials": 5, "lights_changed": 8,
    "wipers_changed": 9, "flat_tire": 10, "disabled_vehicle": 11, "air_bag_deployment": 12}


class SignalAction(_Targeted):
    """The vehicle's signals from now on (SUMO keeps them until the next ``signal``)."""

    kind: Literal["signal"]
    signals: Annotated[tuple[Literal["right", "left", "hazard", "brake", "front", "fog",
                                     "high_beam", "blue"], ...], AS_TUPLE]

    @property
    def bits(self) -> int:
        """The SUMO signal bits."""
        return sum(1 << SIGNAL_NAMES[name] for name in set(self.signals))


class VehicleEventAction(_Targeted):
    """The VehicleEventFlags the vehicle's BSMs carry from now on (``[]``: none)."""

    kind: Literal["vehicle_event"]
    events: Annotated[tuple[Literal[
        "stop_line_violation", "abs_activated", "traction_control_loss",
        "stability_control_activated", "hazardous_materials", "lights_changed",
        "wipers_changed", "flat_tire", "disabled_vehicle", "air_bag_deployment"], ...],
        AS_TUPLE]

    @property
    def bits(self) -> int:
        """The VehicleEventFlags bits."""
        return sum(1 << VEHICLE_EVENT_NAMES[name] for name in set(self.events))


#: an event action, chosen by ``kind``
EventAction = Annotated[
    BrakeAction | SetSpeedAction | ChangeLaneAction | StopInLaneAction | ReleaseAction
    | CrossAction | RsiAction | SignalAction | VehicleEventAction,
    Field(discriminator="kind"),
]

#: every action kind a scenario may name
ACTION_KINDS = ("brake", "set_speed", "change_lane", "stop_in_lane", "release", "cross",
                "rsi_raise", "rsi_clear", "signal", "vehicle_event")


class ScriptedEvent(Section):
    """A scripted event: when ``trigger`` fires, ``actions`` take effect right after that step
    (``once``: fire at most once, else every step the condition holds)."""

    name: _Id
    trigger: EventTrigger
    actions: Annotated[Annotated[tuple[EventAction, ...], AS_TUPLE], Field(min_length=1)]
    once: bool = True


class StopEvent(Section):
    """Today's form of a scripted event: at ``at`` vehicle ``vehicle`` brakes to a stop at
    ``decel`` [m/s²] and holds for ``hold``. Converted to a :class:`ScriptedEvent`."""

    kind: Literal["stop"]
    at_ns: DurationOrZero = Field(alias="at")
    vehicle: _Id
    decel: _Decel = 6.0
    hold_ns: Duration = Field("5 s", alias="hold", validate_default=True)

    def to_event(self, name: str) -> ScriptedEvent:
        """The same event in the trigger + actions form."""
        return ScriptedEvent.model_validate({
            "name": name, "trigger": {"kind": "time", "at": format_duration(self.at_ns)},
            "actions": [{"kind": "stop_in_lane", "target": self.vehicle, "decel": self.decel,
                         "hold": format_duration(self.hold_ns)}]})


def _event_form(value: Any) -> str:
    if isinstance(value, dict) and "trigger" not in value and value.get("kind") == "stop":
        return "stop"
    if isinstance(value, StopEvent):
        return "stop"
    return "event"


#: an ``[[events]]`` item: the trigger + actions form or today's stop form
event_item = Annotated[
    Annotated[ScriptedEvent, Tag("event")] | Annotated[StopEvent, Tag("stop")],
    Discriminator(_event_form),
]
