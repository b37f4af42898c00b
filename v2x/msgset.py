"""The Day-1 message set's names, in one place (light: no codec is imported).

:data:`MSG_TYPES` is the order every table, KPI and code in this project uses (a message
type's code is its index here); :data:`FRAME_CHOICES` is the order of the alternatives of the
``MessageFrame`` CHOICE of T/CSAE 53-2020 (what a UPER frame's first bits select).
"""

from __future__ import annotations

__all__ = ["FRAME_CHOICES", "MSG_TYPES"]

#: the message types, in the project's order: BSM, MAP, SPAT, RSI, RSM
MSG_TYPES: tuple[str, ...] = ("BSM", "MAP", "SPAT", "RSI", "RSM")

#: the root alternatives of MessageFrame, in the order of the ASN.1 CHOICE (T/CSAE 53-2020)
FRAME_CHOICES: tuple[str, ...] = ("BSM", "MAP", "RSM", "SPAT", "RSI")
