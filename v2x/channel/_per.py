"""Packet error rate from SINR by table look-up, per modulation-and-coding scheme.

The tables are link-level results for the LTE-V2X PSSCH published in 3GPP R1-160284
("DMRS enhancement of V2V", Ericsson, RAN1#84, 2016), 190-byte packets, relative speed
280 km/h, as shipped with the public simulators (the MATLAB code of Gonzalez-Martin et al.
2019, GitHub msepulcre/C-V2X ``get_BLER.m``; WiLabV2Xsim):

- ``"qpsk-r0.7"`` (190 B in 10 resource blocks, the MCS 7 figure of STANDARDS.md section 8):
  SINR 0/2/4/6/8/10/12/14/16 dB -> PER 1/0.9/0.7/0.4/0.13/0.045/0.017/0.007/0;
- ``"qpsk-r0.5"`` (190 B in 12 resource blocks): SINR -2/0/2/4/6/8/10/12 dB ->
  PER 1/0.9/0.7/0.3/0.09/0.02/0.002/0 (the MATLAB code floors at 1e-3, we at 0 (to verify)).

Between table points the PER is interpolated linearly in dB (as the MATLAB code and WiLabV2Xsim
do); below the first point PER is 1, above the last it is the last value. The tables are for
190-byte packets; other sizes use the same curve (the number of resource blocks grows with the
size at a fixed code rate, so the SINR needed stays about the same (to verify)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2x.errors import ConfigError

__all__ = ["PER_TABLES", "PerTable", "per_table"]


@dataclass(frozen=True)
class PerTable:
    """A PER-vs-SINR curve: ``sinr_db`` (k,) increasing [dB], ``per`` (k,) in [0, 1]."""

    name: str
    sinr_db: np.ndarray
    per: np.ndarray
    source: str

    def __post_init__(self) -> None:
        s, p = self.sinr_db, self.per
        if s.ndim != 1 or s.shape != p.shape or s.size < 2 or not bool(np.all(np.diff(s) > 0)):
            raise ValueError(f"PER table {self.name!r}: sinr_db must increase, one per value")
        if not bool(np.all((p >= 0.0) & (p <= 1.0))):
            raise ValueError(f"PER table {self.name!r}: PER values must be in [0, 1]")

    def error_rate(self, sinr_db: np.ndarray, *, nan_free: bool = False) -> np.ndarray:
        """(m,) float64 PER of SINRs (m,) [dB]; NaN SINR gives PER 1 (nothing decoded).
        ``nan_free``: the caller knows no SINR is NaN (no pass to look for them)."""
        x = np.asarray(sinr_db, dtype=np.float64)
        out = np.interp(x, self.sinr_db, self.per, left=1.0, right=float(self.per[-1]))
        if not nan_free:
            out[np.isnan(x)] = 1.0
        return out


_R1_160284 = ("3GPP R1-160284 (DMRS enhancement of V2V), 190 B, 280 km/h, as in "
              "msepulcre/C-V2X get_BLER.m")

PER_TABLES: dict[str, PerTable] = {
    "qpsk-r0.7": PerTable(
        "qpsk-r0.7",
        np.array([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]),
        np.array([1.0, 0.9, 0.7, 0.4, 0.13, 0.045, 0.017, 0.007, 0.0]),
        _R1_160284),
    "qpsk-r0.5": PerTable(
        "qpsk-r0.5",
        np.array([-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]),
        np.array([1.0, 0.9, 0.7, 0.3, 0.09, 0.02, 0.002, 0.0]),
        _R1_160284),
}


def per_table(name: object) -> PerTable:
    """The shipped table ``name``; ConfigError naming ``channel.per_table`` otherwise."""
    table = PER_TABLES.get(name) if isinstance(name, str) else None
    if table is None:
        raise ConfigError(f"unknown PER table {name!r}; available: {', '.join(PER_TABLES)}",
                          key="channel.per_table", value=name)
    return table
