"""Targets of assessments that are not vehicles: RSM participants, and at most one
assessment per (host, target, step) when one message carries several items of one target."""

from __future__ import annotations

import numpy as np

from v2x.apps._base import Assessments

__all__ = ["RSM_TARGET_BASE", "one_per_target"]

#: the target of an assessment about an RSM participant is ``RSM_TARGET_BASE + ptcId``
#: (ptcId 0..65535): above every vehicle index (0, 1, ...), RSU node
#: (``v2x.sim.RSU_NODE_BASE`` = 1 000 000 + r) and person node (``v2x.sim.PERSON_NODE_BASE``
#: = 2 000 000 + i), below 2**31. A host cannot know which vehicle a ptcId is; the testbed's
#: roadside numbers participants ``1 + node % 65535`` (:mod:`roadside._rsm`), so the same
#: participant keeps its target across RSUs and steps.
RSM_TARGET_BASE = 3_000_000


def one_per_target(a: Assessments, host: np.ndarray, step: np.ndarray) -> Assessments:
    """At most one assessment per (host, target, step), as :class:`~v2x.apps.ThreatHold`
    wants: a warning one before the others, then the smallest criticality, then the lowest
    row. ``host``, ``step`` (m,) int aligned with ``a``."""
    if a.n == 0:
        return a
    order = np.lexsort((np.arange(a.n), a.criticality, ~a.warn, a.target, host, step))
    k_s, h_s, t_s = step[order], host[order], a.target[order]
    first = np.ones(a.n, bool)
    first[1:] = (k_s[1:] != k_s[:-1]) | (h_s[1:] != h_s[:-1]) | (t_s[1:] != t_s[:-1])
    keep = np.sort(order[first])
    return Assessments(link=a.link[keep], target=a.target[keep], warn=a.warn[keep],
                       criticality=a.criticality[keep], ttc_s=a.ttc_s[keep],
                       gap_m=a.gap_m[keep])
