"""The ground-truth events of a recording (the ``events`` table): their kinds and the
thresholds that define them, in one place (light: nothing of the simulation is imported).

The loop detects them (:mod:`v2x.sim._truth`, which documents each rule), the analysis scores
them; both read the definitions here.
"""

from __future__ import annotations

from v2x.units import G

__all__ = [
    "COLLISION_GAP_NS",
    "EVENT_KINDS",
    "HARD_BRAKING_END_MPS2",
    "HARD_BRAKING_MPS2",
    "RED_STATES",
    "TELEPORT_SETTLE_NS",
]

#: the kinds of ``events`` rows (docs/recording.md says what ``vehicle``, ``other`` and
#: ``value`` hold for each)
EVENT_KINDS: tuple[str, ...] = (
    "hard_braking", "collision", "collision_end", "teleport", "teleport_end", "decode_error",
    "driver_brake", "event_fired", "red_light_violation", "speeding", "speeding_end",
    "bus_decode_error")

#: deceleration that starts a hard-braking event [m/s²]: 0.4 g, the BSM hardBraking event
#: (STANDARDS.md section 5)
HARD_BRAKING_MPS2 = 0.4 * G
#: below this deceleration a hard-braking event ends [m/s²]: 0.3 g (hysteresis, our choice:
#: a dip to 0.38 g inside one braking manoeuvre must not count it twice)
HARD_BRAKING_END_MPS2 = 0.3 * G
#: a collision ends when SUMO has not reported its pair for this long [ns] (our choice: a pair
#: that separates for a few steps and touches again within a second is one collision)
COLLISION_GAP_NS = 1_000_000_000
#: after a teleport ends, the vehicle's motion is SUMO's re-insertion, not driving, for this
#: long [ns] (our choice); it is left out of hard braking and surrogate safety measures
TELEPORT_SETTLE_NS = 1_000_000_000
#: SUMO link states that forbid crossing the stop line: ``r`` red and ``u`` red-yellow ("red
#: light, vehicles have to wait", SUMO user documentation, "Traffic Lights", signal state
#: definitions). Yellow (``y``) and every green (``G``, ``g``, ``s``) are not red; ``o``/``O``
#: (off) neither.
RED_STATES: frozenset[str] = frozenset("ru")
