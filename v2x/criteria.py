"""The pass/fail criterion, in one place (light: standard library and :mod:`v2x.errors` only).

A criterion is ``{"kpi": "latency.BSM.p99_ms", "op": "<=", "value": 100, "name": "..."}``:
``kpi`` a KPI name of the evaluation (tabled in :mod:`analysis._kpi`), ``op`` one of
:data:`OPS`, ``value`` a number, ``name`` optional (default ``"<kpi> <op> <value>"``, the value
as written). The scenario's ``[[criteria]]`` (:mod:`scenarios`) and the ``criteria`` of
``run.json`` (read by :mod:`analysis`) are both this record, parsed by :func:`parse_criterion`;
:meth:`Criterion.as_dict` is the form ``run.json`` stores.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from v2x.errors import CriteriaError

__all__ = ["KEYS", "OPS", "Criterion", "parse_criteria", "parse_criterion"]

#: comparison operators a criterion may use, in the order messages list them
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

#: the keys of a criterion, as written in ``scenario.toml`` and ``run.json``
KEYS: tuple[str, ...] = ("name", "kpi", "op", "value")


@dataclass(frozen=True)
class Criterion:
    """One pass/fail criterion: ``kpi op value`` must hold.

    Not validated on construction (a hand-built one with an unknown op is refused by
    ``analysis.check_criteria``); :func:`parse_criterion` validates what a file says.
    """

    kpi: str
    op: str
    value: float
    name: str

    def as_dict(self) -> dict[str, Any]:
        """The ``run.json`` / ``scenario.toml`` form (every key, the name filled in)."""
        return {"name": self.name, "kpi": self.kpi, "op": self.op, "value": self.value}


def parse_criterion(raw: object) -> Criterion:
    """One criterion from its mapping (a ``[[criteria]]`` table, an item of ``run.json``).

    Raises:
        CriteriaError: not a mapping, an unknown key, ``kpi`` is not a non-empty string, ``op``
            is unknown, ``value`` is not a number (bool and strings refused; NaN and inf too),
            or ``name`` is not a string. Its ``key`` attribute names the key at fault (``None``
            for the whole item).
    """
    if not isinstance(raw, Mapping):
        raise CriteriaError(f"expected an object, got {type(raw).__name__}")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise CriteriaError(f"unknown key (known: {', '.join(sorted(KEYS))})",
                            key=str(unknown[0]))
    kpi: Any = raw.get("kpi")
    if not isinstance(kpi, str) or not kpi:
        raise CriteriaError(f"'kpi' must be a KPI name, got {kpi!r}", key="kpi")
    op: Any = raw.get("op")
    if op not in OPS:
        raise CriteriaError(f"unknown op {op!r}; use one of {' '.join(OPS)}", key="op")
    value: Any = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or value - value != 0:  # NaN and inf leave no margin to compare against
        raise CriteriaError(f"'value' must be a number, got {value!r}", key="value")
    name: Any = raw.get("name", f"{kpi} {op} {value}")
    if not isinstance(name, str):
        raise CriteriaError(f"'name' must be a string, got {name!r}", key="name")
    return Criterion(kpi=kpi, op=op, value=float(value), name=name)


def _label(i: int, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return f"criterion #{i}" + (f" '{name}'" if isinstance(name, str) and name else "")


def parse_criteria(raw: object) -> tuple[Criterion, ...]:
    """Parse a list of criteria (``run.json`` ``criteria``) into :class:`Criterion` values.

    Raises:
        CriteriaError: not a list, or an item :func:`parse_criterion` refuses; the message
            names the criterion (index and name), ``key`` is ``"[i].KEY"``.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise CriteriaError(f"criteria must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(parse_criterion(item))
        except CriteriaError as exc:
            key = f"[{i}]" + (f".{exc.key}" if exc.key else "")
            raise CriteriaError(f"{_label(i, item)}: {exc}", key=key) from None
    return tuple(out)
