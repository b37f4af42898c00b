"""Near-field payment (VNFP), the on-board end: a payment completes when the host, having
heard a payment zone, decodes the RSU's answer naming it.

Day-1 application VNFP (T/CSAE 53-2020; test method DB50/T 1572-2024: scored on completion
and latency, STANDARDS.md sections 4 and 7). The exchange is the smallest honest one over the
testbed's PC5 channel and Day-1 message set (its roadside end and the simplification:
:mod:`roadside._vnfp`): the RSU announces the zone as an RSI sign (signType
``zone_sign_type``, its reference path and pathRadius the zone); the host's BSMs inside the
zone are its request; the RSU answers each request it decodes with an RSI event (eventType
``answer_event_type``) whose description is ``"VNFP <host id, 16 hex digits> <secMark of the
request>"``. The rule here (ours):

1. **Zone known**: the host has received, from the RSU of the answer, an RSI with a sign of
   ``zone_sign_type`` (an OBU asks only to pay where it was offered to).
2. **Answered**: an answer event of a received RSI names the host's own BSM id (its node id,
   as its OBU sends it).
3. **Completed** (a warning row of VNFP: the payment notice to the driver) on 1 and 2.

Each received RSI that answers a host is one assessment of its RSU (target = the RSU node;
``ttc_s``, ``gap_m`` NaN; criticality 0). The warning's time is the completion; its
``info_age_ms`` the answer's age. KPIs (:mod:`analysis`): ``apps.VNFP.completed`` (hosts
whose payment completed) and ``apps.VNFP.latency_ms`` (the largest round trip: the answer's
reception minus the sending of the request it answers).
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
from pydantic import Field

from v2x.apps._base import AppConfig, AppWindow, Assessments
from v2x.apps._heard_maps import HostRsuPairs
from v2x.apps._rsi_view import link_items
from v2x.msgset import MSG_TYPES

__all__ = ["PAYMENT_ANSWER_EVENT_TYPE", "PAYMENT_ZONE_SIGN_TYPE", "NearFieldPayment",
           "VnfpConfig", "payment_answer_text", "read_payment_answer"]

_RSI = MSG_TYPES.index("RSI")
_ANSWER = re.compile(r"^VNFP ([0-9A-F]{16}) (\d{1,5})$")

#: signType of the RSI sign that announces a payment zone (an ETC / toll sign; the
#: testbed's number, to verify against GB 5768.2)
PAYMENT_ZONE_SIGN_TYPE = 300
#: eventType of an RSU's payment answer (the testbed's number; GB/T 29100 has no such event
#: that we know of: to verify against DB50/T 1572-2024)
PAYMENT_ANSWER_EVENT_TYPE = 9001


def payment_answer_text(vehicle_id: int, request_sec_mark: int) -> str:
    """The description of a payment answer event: ``"VNFP <vehicle id as 16 hex digits>
    <secMark of the request [ms]>"`` (ASCII: the RSI's textString)."""
    return f"VNFP {vehicle_id:016X} {request_sec_mark}"


def read_payment_answer(description: str | None) -> tuple[int, int] | None:
    """``(vehicle id, request secMark [ms])`` of a payment answer's description
    (:func:`payment_answer_text`), None if it is not one."""
    m = _ANSWER.match(description or "")
    return None if m is None else (int(m.group(1), 16), int(m.group(2)))


class VnfpConfig(AppConfig):
    """``[applications.vnfp]``: near-field payment (DB50/T 1572-2024 VNFP).

    Attributes:
        enabled: run the application (default True).
        zone_sign_type: signType of the payment-zone sign; default 300
            (:data:`PAYMENT_ZONE_SIGN_TYPE`, to verify).
        answer_event_type: eventType of the RSU's answer; default 9001
            (:data:`PAYMENT_ANSWER_EVENT_TYPE`, to verify).
        hold_s: a completion notice stays on this long without a newer answer [s]; default
            0.5 (five answer periods of 100 ms).
    """

    zone_sign_type: int = Field(PAYMENT_ZONE_SIGN_TYPE, ge=0, le=65535)
    answer_event_type: int = Field(PAYMENT_ANSWER_EVENT_TYPE, ge=0, le=65535)


class NearFieldPayment:
    """The VNFP rule of this module with its settings (``config``, default
    :class:`VnfpConfig`); an :class:`~v2x.apps.Application`."""

    name: ClassVar[str] = "VNFP"
    consumes: ClassVar[tuple[str, ...]] = ("RSI",)

    def __init__(self, config: VnfpConfig | None = None) -> None:
        self.config = config if config is not None else VnfpConfig()
        self.hold_ns = round(self.config.hold_s * 1e9)
        self._knows_zone = HostRsuPairs()  # (host vehicle, RSU node) of zone signs heard

    def __repr__(self) -> str:
        return f"NearFieldPayment({self.config!r})"

    def assess(self, window: AppWindow) -> Assessments:
        """The rule on every RSI a host received (the module docstring): zone signs learnt
        first (a zone and its answer may arrive in one window), then answers matched to the
        host's id."""
        lk, st = window.links, window.hosts
        self._learn_zones(window)
        cfg = self.config
        pairs = link_items(window, _RSI, "events",
                           keep=lambda it: it.item_type == cfg.answer_event_type)
        if pairs is None or pairs.n == 0:
            return Assessments.empty()
        named = self._named_vehicle(pairs.items.description[pairs.item])
        host_id = st.index[pairs.host]
        mine = np.flatnonzero(named == host_id)
        if mine.size == 0:
            return Assessments.empty()
        links = pairs.link[mine]
        warn = self._knows_zone.has(host_id[mine], lk.sender[links])
        # one assessment per (host, RSU, step): a step's answers to one host are one
        _, first = np.unique(np.column_stack([host_id[mine], lk.sender[links], lk.step[links]]),
                             axis=0, return_index=True)
        first = np.sort(first)
        nan = np.full(first.size, np.nan)
        return Assessments(link=links[first], target=lk.sender[links[first]], warn=warn[first],
                           criticality=np.zeros(first.size), ttc_s=nan, gap_m=nan.copy())

    @staticmethod
    def _named_vehicle(descriptions: np.ndarray) -> np.ndarray:
        """The vehicle id each answer description names, -1 where it is not an answer."""
        named = [read_payment_answer(d) for d in descriptions.tolist()]
        return np.array([-1 if a is None else a[0] for a in named], np.int64)

    def _learn_zones(self, window: AppWindow) -> None:
        """Remember which host heard a payment-zone sign from which RSU."""
        cfg = self.config
        pairs = link_items(window, _RSI, "signs",
                           keep=lambda it: it.item_type == cfg.zone_sign_type)
        if pairs is None or pairs.n == 0:
            return
        self._knows_zone.add(window.hosts.index[pairs.host], window.links.sender[pairs.link])
