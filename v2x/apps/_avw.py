"""Abnormal vehicle warning (AVW), vectorized over the BSM receptions of a window.

T/CSAE 53-2020 Day-1 application AVW (test method: T/CSAE 246-2022, the AVW annex): a remote
vehicle ahead in the host's path shows that it is abnormal: hazard lights or a breakdown in
its BSM events, or (optional) a crawl. The rule is CLW's (:mod:`v2x.apps._clw`, rules 2-5:
same direction, ahead, in the host's or an adjacent lane, in range) with AVW's sign as rule 1:
``safetyExt.events`` carries hazardLights (bit 0) or disabledVehicle (bit 11), or, with
``slow_speed_kmh`` set, the remote drives at most that fast. The speed sign is off by default:
a queue at a red light is slow without being abnormal, and a BSM cannot tell the two apart;
a stopped or broken-down vehicle that matters turns its hazard lights on (our choice, to
verify against the annex's scenarios).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from v2x.apps._clw import ClwConfig, ControlLossWarning

__all__ = ["ABNORMAL_EVENTS", "AbnormalVehicleWarning", "AvwConfig"]

#: VehicleEventFlags of an abnormal vehicle: hazardLights 0, disabledVehicle 11
ABNORMAL_EVENTS = (1 << 0) | (1 << 11)


class AvwConfig(ClwConfig):
    """``[applications.avw]``: abnormal vehicle warning (T/CSAE 53-2020 AVW): the keys of
    :class:`ClwConfig` and ``slow_speed_kmh`` [km/h], a remote at most this fast is abnormal
    too (default None: off; see the module docstring)."""

    slow_speed_kmh: float | None = Field(None, ge=0, allow_inf_nan=False)


class AbnormalVehicleWarning(ControlLossWarning):
    """The AVW rule of this module (``config``, default :class:`AvwConfig`)."""

    name: ClassVar[str] = "AVW"
    events_mask: ClassVar[int] = ABNORMAL_EVENTS
    config: AvwConfig

    def __init__(self, config: AvwConfig | None = None) -> None:
        super().__init__(config if config is not None else AvwConfig())

    def sign(self, events: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
        """Rule 1 of AVW: hazard lights or a disabled vehicle, or (``slow_speed_kmh``) a
        remote at most that fast."""
        flagged = super().sign(events, speed_mps)
        slow = self.config.slow_speed_kmh
        if slow is None:
            return flagged
        with np.errstate(invalid="ignore"):
            return flagged | (np.asarray(speed_mps, np.float64) * 3.6 <= slow)
