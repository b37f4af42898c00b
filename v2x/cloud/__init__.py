"""Applications of the cloud control platform, running on the bus like external ones.

:class:`CongestionDetector` finds jams on road links from the BSMs RSUs forward;
:class:`CloudCongestionApp` runs it on a broker: RSU uplinks in, traffic-jam RSI down to the
RSUs before each jam (``v2x run`` with ``[cloud] congestion = true``, or ``v2x cloud``).
"""

from ._app import CloudCongestionApp, Downlinked
from ._congestion import CongestionConfig, CongestionDetector, Jam, RoadLink

__all__ = ["CloudCongestionApp", "CongestionConfig", "CongestionDetector", "Downlinked", "Jam",
           "RoadLink"]
