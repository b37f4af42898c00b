"""Actions on the traffic: what a scenario script, a triggered event or the closed loop (a
driver reacting to a warning) makes a vehicle or a pedestrian do, and when.

An :class:`Action` takes effect *right after* the first step whose time ``t_ns >= at_ns`` has
been returned (between that SUMO step and the next: its effect shows in the next step's
states), the moment scripted stops have always fired. :class:`ActionQueue` holds the actions
that are not due yet and fixes the order in which due actions are applied, so that a backend
in this process and one in the traffic process (:class:`~v2x.traffic.PipelinedTraffic`) give
the same SUMO calls in the same order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import NamedTuple

from v2x.errors import ConfigError, SumoError

__all__ = ["ACTION_KINDS", "RSI_ACTION_KINDS", "Action", "ActionQueue", "check_action"]

#: the kinds a traffic backend applies (vehicles, except ``cross``: persons)
ACTION_KINDS = ("brake", "change_lane", "cross", "release", "set_speed", "stop_in_lane",
                "signal", "vehicle_event")
#: the kinds the backend hands back to the loop for the roadside (RSI events), never to SUMO
RSI_ACTION_KINDS = ("rsi_clear", "rsi_raise")

_NAN = math.nan


class Action(NamedTuple):
    """One action on one traffic participant (a named tuple: it pickles cheaply).

    Attributes:
        at_ns: when [ns, simulation time]: the action takes effect right after the first step
            with ``t_ns >= at_ns``. In a :class:`~v2x.traffic.TriggeredEvent` it is the delay
            after the firing step instead (0: right after it).
        target: SUMO vehicle id, SUMO person id (``cross``) or RSI event id (``rsi_*``).
        kind: one of :data:`ACTION_KINDS` or :data:`RSI_ACTION_KINDS`:

            - ``brake``: decelerate at ``decel`` [m/s²] to ``speed`` [m/s], then keep that
              speed until ``release`` (SUMO ``vehicle.slowDown`` over ``(v - speed) / decel``
              seconds, then ``setSpeed(speed)``; speed mode 0: the script drives, SUMO neither
              limits the deceleration to the vehicle type's nor clamps to a safe speed).
            - ``set_speed``: drive at ``speed`` [m/s] (``vehicle.setSpeed``); SUMO keeps its
              safe speed and the type's acceleration limits; ``decel`` [m/s²], when given,
              replaces the vehicle's maximum deceleration (``vehicle.setDecel``) until
              ``release``.
            - ``change_lane``: change to lane index ``lane`` of the current edge and stay there
              ``hold_s`` seconds (nan: for the rest of the trip) (``vehicle.changeLane``).
            - ``stop_in_lane``: ``brake`` to 0 at ``decel``, hold ``hold_s`` seconds (nan: until
              ``release``), then ``release``.
            - ``release``: give control back to SUMO (``setSpeed(-1)``, speed mode 31, the
              type's deceleration again).
            - ``cross``: a waiting pedestrian starts to walk now: SUMO ``person.removeStage(id,
              0)`` ends the person's current waiting stage (a ``<stop>`` in its plan) and it
              goes on with its next stage (the ``<walk>`` across). Nothing happens when the
              person is not in a waiting stage. Such a person in a route file (sorted by
              ``depart`` like everything there)::

                  <person id="ped" depart="0" departPos="200">
                      <stop lane="we_0" duration="100000" startPos="190" endPos="200"/>
                      <walk edges="we" arrivalPos="400"/>
                  </person>
            - ``signal``: the vehicle's signals are ``bits`` from now on (SUMO signal bits,
              :class:`v2x.messages.SumoSignal`: blinker right 0, left 1, hazard 2, brake 3,
              ... blue light 11; ``vehicle.setSignals``: SUMO keeps them, its own blinkers
              and brake lights included, until another ``signal``).
            - ``vehicle_event``: the VehicleEventFlags its OBU sends in every BSM are ``bits``
              from now on (ABSactivated 2, tractionControlLoss 3, stabilityControlActivated
              4, disabledVehicle 11, ...; OR-ed with what the OBU sets itself: hardBraking,
              hazardLights); 0 clears them.
            - ``rsi_raise`` / ``rsi_clear``: raise / clear the RSI event ``target`` (for the
              roadside; a backend hands them to the loop, see ``fired_actions()``).
        speed: target speed [m/s] (``brake``, ``set_speed``).
        decel: deceleration [m/s², positive] (``brake``, ``stop_in_lane``, ``set_speed``).
        lane: lane index, 0 = rightmost (``change_lane``).
        hold_s: how long [s] (``stop_in_lane``, ``change_lane``).
        bits: signal bits (``signal``) or VehicleEventFlags bits (``vehicle_event``), >= 0.
    """

    at_ns: int
    target: str
    kind: str
    speed: float = _NAN
    decel: float = _NAN
    lane: int = -1
    hold_s: float = _NAN
    bits: int = 0


def _bad(action: Action, key: str, why: str) -> ConfigError:
    return ConfigError(f"action {action.kind!r} on {action.target!r}: {why}", key=key,
                       value=getattr(action, key))


def check_action(action: Action) -> None:
    """Check that ``action`` has what its kind needs.

    Raises:
        ConfigError: unknown kind, empty target, or a missing / out-of-range field (names it).
    """
    kind = action.kind
    if kind not in ACTION_KINDS and kind not in RSI_ACTION_KINDS:
        raise ConfigError(f"unknown action kind (one of {ACTION_KINDS + RSI_ACTION_KINDS})",
                          key="kind", value=kind)
    if not action.target:
        raise _bad(action, "target", "needs a target")
    if kind in ("brake", "set_speed") and not (math.isfinite(action.speed)
                                               and action.speed >= 0):
        raise _bad(action, "speed", "needs a speed >= 0 [m/s]")
    if kind in ("brake", "stop_in_lane") and not (math.isfinite(action.decel)
                                                  and action.decel > 0):
        raise _bad(action, "decel", "needs a deceleration > 0 [m/s²]")
    if kind == "set_speed" and not (math.isnan(action.decel) or action.decel > 0):
        raise _bad(action, "decel", "deceleration must be > 0 [m/s²] or nan")
    if kind == "change_lane" and action.lane < 0:
        raise _bad(action, "lane", "needs a lane index >= 0")
    if kind == "signal" and not 0 <= action.bits < 1 << 16:
        raise _bad(action, "bits", "signal bits must be in 0..65535")
    if kind == "vehicle_event" and not 0 <= action.bits < 1 << 13:
        raise _bad(action, "bits", "VehicleEventFlags bits must be in 0..8191")
    if kind in ("stop_in_lane", "change_lane") and not (math.isnan(action.hold_s)
                                                        or action.hold_s >= 0):
        raise _bad(action, "hold_s", "hold must be >= 0 [s] or nan")


#: order of the due actions of one step: those of triggered events first (in firing order),
#: then those given to ``apply`` (in call order); see :class:`ActionQueue`
EVENT, APPLIED = 0, 1


class ActionQueue:
    """Actions waiting for their step, and the "closed loop ran ahead" rule.

    A backend calls ``stepped(t_ns)`` with each step's time, adds the actions of the events
    fired at that step (origin :data:`EVENT`), then applies ``due()``; ``apply`` adds actions
    (origin :data:`APPLIED`) and applies ``due()`` at once (the actions whose step has been
    returned already). ``due()`` gives the due actions in a fixed order: those of triggered
    events before those given to ``apply``, each in the order they were added, whatever their
    ``at_ns``. So an action that reaches the traffic process after its step was computed
    (applied at once) lands in the same order as one queued before that step (applied inside
    it), and both backends make the same SUMO calls in the same order.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Action]] = []  # (at_ns, origin, seq, action)
        self._seq = 0
        self.t_last: int | None = None  # time of the last step [ns]
        self.t_prev: int | None = None  # time of the step before it [ns]

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, actions: Iterable[Action], origin: int = APPLIED) -> None:
        """Queue ``actions`` (all or none).

        Raises:
            ConfigError: an action is malformed (:func:`check_action`).
            SumoError: an action should have taken effect after a step that is not the last
                one: the backend has already stepped past that moment ("closed loop ran
                ahead").
        """
        actions = list(actions)
        for a in actions:
            check_action(a)
            if self.t_prev is not None and a.at_ns <= self.t_prev:
                raise SumoError(
                    f"closed loop ran ahead: action {a.kind!r} on {a.target!r} at "
                    f"{a.at_ns} ns should have taken effect by the step at {self.t_prev} ns, "
                    f"and the traffic has already stepped to {self.t_last} ns")
        for a in actions:
            self._seq += 1
            heapq.heappush(self._heap, (int(a.at_ns), origin, self._seq, a))

    def stepped(self, t_ns: int) -> None:
        """Record that a step at ``t_ns`` [ns] has been made."""
        self.t_prev, self.t_last = self.t_last, t_ns

    def due(self) -> list[Action]:
        """Take the actions due after the last step (``at_ns <= t_last``), in order."""
        heap, t = self._heap, self.t_last
        if not heap or t is None or heap[0][0] > t:
            return []
        out = []
        while heap and heap[0][0] <= t:
            _, origin, seq, a = heapq.heappop(heap)
            out.append((origin, seq, a))
        return [a for _, _, a in sorted(out)]
