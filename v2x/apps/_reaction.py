"""Driver reaction: a warned driver brakes, after a reaction time (the closed loop).

Model (one braking manoeuvre per warning start; parameters in ``[driver]`` of a scenario):

- **Reaction time** ``reaction_s`` from the warning to the start of braking (perception +
  movement to the pedal). Default 1.0 s: Green (2000), "How long does it take to stop?
  Methodological analysis of driver perception-brake times", Transportation Human Factors
  2(3):195-216, finds about 0.7-0.75 s for fully expected events, about 1.25 s for unexpected
  but common ones such as a lead vehicle's brake lights, and 1.5 s for surprises; a warning
  makes the event expected, so 1.0 s lies between (to verify for a given HMI).
- **Braking** at a constant ``decel_mps2`` to a standstill, then holding ``hold_s`` before the
  driver hands control back to the traffic model. Default 6.0 m/s² (about 0.6 g): drivers'
  hard braking in response to forward collision alerts in the CAMP studies (Kiefer et al.,
  DOT HS 808 964, 1999: mean peak about 0.5-0.6 g for hard stops; to verify).

The reaction is the *shortest action delay* of the run: the traffic side may run ahead of the
loop by at most this much (conservative synchronisation), so a closed-loop run equals the run
processed one step at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DriverConfig", "DriverReaction", "Reactions"]


class DriverConfig(BaseModel):
    """``[driver]``: the reaction of a warned driver (off by default: open loop)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    reaction_s: float = Field(1.0, gt=0, le=5.0, allow_inf_nan=False)
    """Warning to start of braking [s] (Green 2000; to verify)."""
    decel_mps2: float = Field(6.0, gt=0, le=12.0, allow_inf_nan=False)
    """Constant braking deceleration [m/s²] (CAMP FCW studies; to verify)."""
    hold_s: float = Field(2.0, ge=0, le=60.0, allow_inf_nan=False)
    """Standstill held before control returns to the traffic model [s] (our choice)."""


@dataclass(frozen=True)
class Reactions:
    """Braking manoeuvres of warned drivers: (r,) each.

    Attributes:
        vehicle: int64 vehicle index of the warned host.
        brake_at_ns: int64 [ns] when braking starts (warning time + reaction time).
        decel_mps2: float64 [m/s²] the braking deceleration.
        release_at_ns: int64 [ns] when control returns to the traffic model (stopped + hold).
    """

    vehicle: np.ndarray
    brake_at_ns: np.ndarray
    decel_mps2: np.ndarray
    release_at_ns: np.ndarray

    @property
    def n(self) -> int:
        return int(self.vehicle.shape[0])


class DriverReaction:
    """Turns warning starts into braking manoeuvres (see the module docstring).

    Args:
        config: the ``[driver]`` settings.
        step_ns: the simulation step [ns]; actions land on step times, so the reaction time
            is rounded up to whole steps.
    """

    def __init__(self, config: DriverConfig, step_ns: int) -> None:
        self.config = config
        self.step_ns = int(step_ns)
        self.delay_ns = math.ceil(config.reaction_s * 1e9 / step_ns) * self.step_ns

    @property
    def lookahead_steps(self) -> int:
        """How many steps the traffic may run ahead of the loop: the reaction delay."""
        return self.delay_ns // self.step_ns

    def react(self, vehicle: np.ndarray, t_ns: np.ndarray, speed: np.ndarray) -> Reactions:
        """Reactions to warnings that start at ``t_ns`` (w,) int64 [ns] on hosts ``vehicle``
        (w,) int64 driving at ``speed`` (w,) float64 [m/s] when warned (the braking lasts
        until the host stops: at most ``speed / decel``).

        A host warned again while a manoeuvre is under way brakes again from the new
        warning (the traffic side takes the latest action)."""
        c = self.config
        brake_at = np.asarray(t_ns, np.int64) + self.delay_ns
        stop_s = np.maximum(np.asarray(speed, np.float64), 0.0) / c.decel_mps2
        release = brake_at + np.ceil((stop_s + c.hold_s) * 1e9 / self.step_ns).astype(
            np.int64) * self.step_ns
        return Reactions(vehicle=np.asarray(vehicle, np.int64), brake_at_ns=brake_at,
                         decel_mps2=np.full(brake_at.size, c.decel_mps2),
                         release_at_ns=release)
