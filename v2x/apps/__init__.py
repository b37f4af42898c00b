"""On-board applications that turn received V2X messages into driver warnings.

Day-1 applications of T/CSAE 53-2020; each is vectorized over the receptions of one step.
"""

from v2x.apps._ebw import EbwConfig, EbwResult, EmergencyBrakeWarning
from v2x.apps._fcw import (
    CriticalLinks,
    FcwResult,
    FcwState,
    ForwardCollisionWarning,
    most_critical,
)
from v2x.apps._mapmatch import LaneTable, MapCache, MatchResult, lane_table, match
from v2x.apps._rlvw import RedLightViolationWarning, RlvwConfig, RlvwResult
from v2x.apps._spat_view import SpatLookup, SpatView, node_key

__all__ = [
    "CriticalLinks",
    "EbwConfig",
    "EbwResult",
    "EmergencyBrakeWarning",
    "FcwResult",
    "FcwState",
    "ForwardCollisionWarning",
    "LaneTable",
    "MapCache",
    "MatchResult",
    "RedLightViolationWarning",
    "RlvwConfig",
    "RlvwResult",
    "SpatLookup",
    "SpatView",
    "lane_table",
    "match",
    "most_critical",
    "node_key",
]
