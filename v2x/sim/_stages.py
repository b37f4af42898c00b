"""What the stages of the loop hand each other: frozen dataclasses of numpy columns.

One window of steps flows through them in this order (:mod:`v2x.sim._loop`)::

    TrafficWindow -> Transmissions -> Receivers -> Links -> (DecodedBsm, AppWindow)
                  -> warnings / reactions -> KPIs, recording, bus

Rows of a window are in step order everywhere: a step's vehicles, a step's BSMs then its RSU
messages, a step's equipped vehicles then every RSU.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from v2x.messages._bsm import BsmBatch, BsmFields
from v2x.recorder import Binary
from v2x.sim._types import Outgoing
from v2x.traffic import VehicleStates

if TYPE_CHECKING:
    from v2x.traffic import PersonStates

__all__ = ["Links", "Receivers", "TrafficWindow", "Transmissions"]

_STATE_COLUMNS = tuple(f.name for f in fields(VehicleStates) if f.name != "t_ns")


@dataclass(frozen=True)
class TrafficWindow:
    """Consecutive steps of the traffic, their vehicle rows concatenated (step-major).

    Attributes:
        states: every step's vehicle rows in one :class:`VehicleStates` (its ``t_ns`` is the
            first step's).
        persons: the persons of the last step (pedestrians; roadside perception input).
        step: (n,) int64 step of each vehicle row within the window.
        t_ns: (n_steps,) int64 [ns] step times.
        sec_mark: (n_steps,) int64 [ms of the minute] secMark of each step.
        bsm_rows: (b,) int64 vehicle rows whose OBU sends a BSM in its step.
        bsm_msg_cnt: (b,) int64 their msgCnt (0..127).
        rsu_out: the RSU messages as (step, RSU index, message).
        last_vehicles: (v,) int64 vehicle indices present in the last step.
    """

    states: VehicleStates
    persons: PersonStates | None
    step: np.ndarray
    t_ns: np.ndarray
    sec_mark: np.ndarray
    bsm_rows: np.ndarray
    bsm_msg_cnt: np.ndarray
    rsu_out: list[tuple[int, int, Outgoing]]
    last_vehicles: np.ndarray

    @property
    def n_steps(self) -> int:
        return int(self.t_ns.shape[0])

    @property
    def n_last(self) -> int:
        """Vehicles present in the last step."""
        return int(self.last_vehicles.shape[0])

    @classmethod
    def of(cls, states: list[VehicleStates], persons: PersonStates | None, t_ns: np.ndarray,
           sec_mark: np.ndarray, bsm_rows: np.ndarray, bsm_msg_cnt: np.ndarray,
           rsu_out: list[tuple[int, int, Outgoing]]) -> TrafficWindow:
        one = states[0] if len(states) == 1 else VehicleStates(
            t_ns=states[0].t_ns,
            **{f: np.concatenate([getattr(s, f) for s in states]) for f in _STATE_COLUMNS})
        step = np.repeat(np.arange(len(states), dtype=np.int64), [s.n for s in states])
        return cls(one, persons, step, t_ns, sec_mark, bsm_rows, bsm_msg_cnt, rsu_out,
                   states[-1].index)


@dataclass(frozen=True)
class Transmissions:
    """Every message sent on PC5 in the window, in step order (a step's BSMs, then its RSU
    messages): (n_tx,) each.

    Attributes:
        tx_id: int64 run-wide transmission id.
        step: int64 step within the window; ``t_ns`` int64 [ns] its time.
        sender: int64 node id (vehicle index, or ``RSU_NODE_BASE + r``).
        msg_type: int8 code into :data:`v2x.msgset.MSG_TYPES`.
        msg_cnt: int64 msgCnt 0..127.
        size_bytes: int64 on-air size (the UPER frame's length) [bytes].
        x, y: float64 [m] sender position; ``height_m`` float64 [m] antenna height.
        bsm_row: int64 row in ``bsm`` / ``bsm_frames`` for a BSM, -1 otherwise.
        rsu_msg: int64 index into the window's ``rsu_out`` for an RSU message, -1 otherwise.
        frames: every frame, as one Binary column in row order.
        bsm: the window's BSMs (rows = ``bsm_row``), standard units.
        bsm_frames: (b, L) uint8 their UPER MessageFrames.
        vehicle_fields: every vehicle row's BSM content in standard units (also the
            trajectories' lat/lon).
    """

    tx_id: np.ndarray
    step: np.ndarray
    t_ns: np.ndarray
    sender: np.ndarray
    msg_type: np.ndarray
    msg_cnt: np.ndarray
    size_bytes: np.ndarray
    x: np.ndarray
    y: np.ndarray
    height_m: np.ndarray
    bsm_row: np.ndarray
    rsu_msg: np.ndarray
    frames: Binary
    bsm: BsmBatch
    bsm_frames: np.ndarray
    vehicle_fields: BsmFields

    @property
    def n(self) -> int:
        return int(self.tx_id.shape[0])


@dataclass(frozen=True)
class Receivers:
    """Every PC5 receiver of the window, in step order (a step's receiving vehicles, then every
    RSU): (n_rx,) each. The receiving vehicles are every equipped one, or only those in the
    KPI and reception samples when nothing else reads their receptions
    (``SimConfig.kpi_sample``).

    Attributes:
        step: int64 step within the window.
        node: int64 node id.
        vehicle_row: int64 row in the window's vehicle states, -1 for an RSU.
        rsu: int64 RSU index, -1 for a vehicle.
        xy: (n_rx, 2) float64 [m] position; ``height_m`` float64 [m] antenna height.
        sampled: bool, the receiver's reception rows are recorded (seeded sample).
        counted: bool, the receiver's links count in the delivery KPIs (PRR, latency,
            inter-packet gap; seeded sample of ``SimConfig.kpi_sample``, every one at 1.0).
    """

    step: np.ndarray
    node: np.ndarray
    vehicle_row: np.ndarray
    rsu: np.ndarray
    xy: np.ndarray
    height_m: np.ndarray
    sampled: np.ndarray
    counted: np.ndarray


@dataclass(frozen=True)
class Links:
    """Candidate links of the window and what the channel decided: (m,) each, in (tx, rx)
    order.

    Attributes:
        tx: int64 transmission row; ``rx`` int64 receiver row.
        distance_m: float64 [m] 2-D distance.
        msg_type: int8 code of the message.
        received: bool, decoded by the receiver.
        latency_ns: int64 [ns] air latency (meaningful where received).
    """

    tx: np.ndarray
    rx: np.ndarray
    distance_m: np.ndarray
    msg_type: np.ndarray
    received: np.ndarray
    latency_ns: np.ndarray

    @property
    def n(self) -> int:
        return int(self.tx.shape[0])

    def take(self, rows: np.ndarray) -> Links:
        """The links ``rows`` (k,) int64, in that order."""
        return Links(tx=self.tx[rows], rx=self.rx[rows], distance_m=self.distance_m[rows],
                     msg_type=self.msg_type[rows], received=self.received[rows],
                     latency_ns=self.latency_ns[rows])
