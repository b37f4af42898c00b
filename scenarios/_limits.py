"""Upper bounds of scenario values: what a run can hold, each with its reason.

A scenario must never make a run hang or exhaust memory (``passenger = 1e12`` once made
``randomTrips.py`` try to write 8e10 trips), and a value no real deployment has must not
pass as if it were meant. Each bound below is either physical or what one machine runs; the
key table of :mod:`scenarios._model`, the README ("Scenario limits") and the field
descriptions of the JSON Schema state them.

Measured on the 2-core test machine (SUMO 1.28): ``randomTrips.py --validate`` writes
100,000 trips on the 4 x 4 grid in 12-21 s with 96 MB resident; a 16 x 16 grid (256
signalized junctions, 256 RSUs) builds and runs 10 s of simulated time in 11 s wall with
280 MB resident, a 32 x 32 one takes 26 s to set up its RSUs before the first step.
"""

from __future__ import annotations

__all__ = [
    "MAX_BLOCK_LENGTH_M",
    "MAX_DEPARTURES",
    "MAX_DURATION_NS",
    "MAX_GRID_JUNCTIONS",
    "MAX_GRID_LANES",
    "MAX_OBU_ANTENNA_M",
    "MAX_PER_HOUR",
    "MAX_PRR_RANGE_M",
    "MAX_RSUS",
    "MAX_RSU_ANTENNA_M",
    "MAX_SENSOR_RANGE_M",
]

#: every duration of a scenario (``duration``, ``demand.end``, periods, event times) [ns]:
#: 24 h, the longest test a pilot zone runs (a whole day of traffic; 864,000 steps of 100 ms)
MAX_DURATION_NS = 24 * 3600 * 10**9

#: ``demand.vehicles_per_hour.<class>`` and ``demand.pedestrians_per_hour`` [1/h]: one
#: departure every 100 ms, the default step (more than ten lanes' capacity: HCM's base
#: saturation flow is 1,900 veh/h per lane)
MAX_PER_HOUR = 36_000.0

#: expected departures over the demand window, ``sum(rates) x (end - begin)``: what SUMO's
#: ``randomTrips.py`` writes in well under a minute (100,000 trips: 12-21 s, 96 MB) and SUMO
#: loads route by route
MAX_DEPARTURES = 100_000

#: ``network.junctions_x`` / ``junctions_y`` of a generated grid: 16 x 16 = 256 signalized
#: junctions, as many RSUs as :data:`MAX_RSUS` (netgenerate names columns A..Z; beyond 26
#: columns our junction ids no longer match its names)
MAX_GRID_JUNCTIONS = 16

#: RSUs of a run (``[rsu] at`` plus ``[[rsus]]``): 256 set up in about 5 s and run at
#: about real time with few vehicles; 1,024 take 26 s to set up before the first step
MAX_RSUS = 256

#: ``network.block_length_m`` / ``attach_length_m`` of a grid [m]: 5 km, as the arms of
#: ``intersection`` (16 blocks of 5 km stay well inside one UTM zone)
MAX_BLOCK_LENGTH_M = 5_000.0

#: lanes per direction of a grid: 8, as ``road`` (the widest urban arterials have 5-6)
MAX_GRID_LANES = 8

#: RSU antenna height [m]: 100 m, a telecom tower; roadside units are mounted at 5-8 m on
#: signal or lamp poles (3GPP TR 37.885 evaluates RSUs at 5 m); beyond, the path-loss
#: geometry means nothing
MAX_RSU_ANTENNA_M = 100.0

#: OBU antenna height [m]: 5 m, the roof of the tallest road vehicle (GB 1589-2016 allows
#: 4 m) plus its antenna
MAX_OBU_ANTENNA_M = 5.0

#: roadside perception range ``rsm.range_m`` [m]: 1 km, beyond any roadside radar or camera
#: (long-range traffic radars reach 250-300 m)
MAX_SENSOR_RANGE_M = 1_000.0

#: ``recording.prr_max_m`` [m]: 10 km, beyond every channel model's range (highway cut-off
#: 4 km)
MAX_PRR_RANGE_M = 10_000.0
