"""What an OBU reads from received RSMs: their participants as numpy columns in the network
frame.

An RSM (T/CSAE 53-2020, STANDARDS.md section 1; decoded value classes in
:mod:`v2x.messages._rsm`) lists up to 16 participants an RSU perceives: type, ptcId,
position (absolute lat/lon after decoding), speed, heading, size. :func:`rsm_participants`
decodes each distinct frame once (``window.decoded``) and projects every position of the
window's frames with one call of the window's projection; :func:`rsm_links` pairs the
participants of chosen types with the received links that brought them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from v2x.apps._base import AppWindow
from v2x.msgset import MSG_TYPES

_RSM = MSG_TYPES.index("RSM")

__all__ = ["RsmLinks", "RsmParticipants", "rsm_links", "rsm_participants"]


@dataclass(frozen=True)
class RsmParticipants:
    """The participants of a set of received RSM frames: (k,) each, in frame order then
    participant order; NaN where an element is unavailable.

    Attributes:
        frame: int64 index of the participant's frame in the ``tx_rows`` given to
            :func:`rsm_participants`.
        ptc_id: int64 ptcId 0..65535. ptc_type: int8 ParticipantType (1 motor, 2 non-motor,
            3 pedestrian, ...).
        x, y: float64 [m] network position of the reported point (the testbed's roadside
            reports a vehicle's centre, :mod:`v2x.sim`'s road users).
        speed: float64 [m/s]. heading_deg: float64 [deg] clockwise from north.
        length, width: float64 [m].
    """

    frame: np.ndarray
    ptc_id: np.ndarray
    ptc_type: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed: np.ndarray
    heading_deg: np.ndarray
    length: np.ndarray
    width: np.ndarray

    @property
    def n(self) -> int:
        return int(self.frame.shape[0])


def rsm_participants(window: AppWindow, tx_rows: np.ndarray) -> RsmParticipants:
    """The participants of the RSM transmissions ``tx_rows`` (k,) int (distinct rows; frames
    that do not decode contribute nothing)."""
    msgs: list[Any] = window.decoded("RSM", np.asarray(tx_rows, np.int64))
    rows = [(f, p.ptc_id, int(p.ptc_type), p.pos.lat_deg, p.pos.lon_deg, p.speed_mps,
             p.heading_deg, p.length_m, p.width_m)
            for f, msg in enumerate(msgs) if msg is not None for p in msg.participants]
    if not rows:
        e_i, e_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return RsmParticipants(e_i, e_i, np.empty(0, np.int8), e_f, e_f, e_f, e_f, e_f, e_f)
    cols = list(zip(*rows, strict=True))
    x, y = window.geo.to_xy(np.array(cols[3], np.float64), np.array(cols[4], np.float64))
    return RsmParticipants(
        frame=np.array(cols[0], np.int64), ptc_id=np.array(cols[1], np.int64),
        ptc_type=np.array(cols[2], np.int8), x=np.atleast_1d(x), y=np.atleast_1d(y),
        speed=np.array(cols[5], np.float64), heading_deg=np.array(cols[6], np.float64),
        length=np.array(cols[7], np.float64), width=np.array(cols[8], np.float64))


@dataclass(frozen=True)
class RsmLinks:
    """Every (received RSM link, participant of its frame) pair of some participant types:
    (k,) each, in link order then participant order.

    Attributes:
        link: int64 row in :attr:`AppWindow.links` of the RSM link.
        participant: int64 row of the participant in :attr:`participants`.
        participants: the participants of the window's distinct received RSM frames
            (:func:`rsm_participants`).
    """

    link: np.ndarray
    participant: np.ndarray
    participants: RsmParticipants

    @property
    def n(self) -> int:
        return int(self.link.shape[0])


def rsm_links(window: AppWindow, ptc_types: tuple[int, ...]) -> RsmLinks:
    """The participants of types ``ptc_types`` (ParticipantType values) of every RSM the
    window's hosts received, paired with the link that brought them; each distinct frame is
    decoded and projected once (:func:`rsm_participants`)."""
    lk = window.links
    rsm = np.flatnonzero(lk.msg_type == _RSM)
    tx, inverse = np.unique(lk.tx[rsm], return_inverse=True)
    p = rsm_participants(window, tx)
    chosen = np.flatnonzero(np.isin(p.ptc_type, ptc_types))  # ascending frame
    per_frame = np.bincount(p.frame[chosen], minlength=tx.size)
    first = np.concatenate([[0], np.cumsum(per_frame)[:-1]]).astype(np.int64)
    count = per_frame[inverse]  # chosen participants of each link's frame
    pair_link = np.repeat(np.arange(rsm.size), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    part = chosen[first[inverse][pair_link] + (np.arange(pair_link.size) - start[pair_link])]
    return RsmLinks(link=rsm[pair_link].astype(np.int64), participant=part.astype(np.int64),
                    participants=p)
