"""On-board applications that turn received V2X messages into driver warnings.

Day-1 applications of T/CSAE 53-2020; each is vectorized over the receptions of one step.
"""

from v2x.apps._fcw import (
    CriticalLinks,
    FcwResult,
    FcwState,
    ForwardCollisionWarning,
    most_critical,
)

__all__ = [
    "CriticalLinks",
    "FcwResult",
    "FcwState",
    "ForwardCollisionWarning",
    "most_critical",
]
