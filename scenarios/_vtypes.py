"""Vehicle types of the vehicle classes a scenario may name, with the source of every value.

Each class is one SUMO ``<vType>`` (written by :func:`write_vtypes` into an additional file)
plus the message-set classification the OBU sends (J2735 VehicleType classification values used
by T/CSAE 53 ``vehicleClass``).

Car following is SUMO's default Krauss model. Krauss drives at its safe speed and plans every
stop with at most ``decel`` (its next speed is never below ``v - decel * dt`` unless a
situation needs more, then up to ``emergencyDecel``), so ``decel`` is the deceleration every
vehicle reaches when it stops at a red light or behind a queue: it must be a *comfortable*
deceleration, not the braking ability. SUMO's defaults (4.5 m/s² for cars, 4.0 m/s² for buses
and trucks) lie above the 0.4 g (3.92 m/s²) hard-braking threshold of the BSM ``hardBraking``
event, so with them nearly every stop was a hard-braking event (xiqing-south-station: 1,190
events for 326 vehicles). Sources of the values:

* **SUMO** -- "Vehicle Type Parameter Defaults" (sumo.dlr.de/docs/Vehicle_Type_Parameter_Defaults
  .html) and "Definition of Vehicles, Vehicle Types, and Routes"
  (sumo.dlr.de/docs/Definition_of_Vehicles,_Vehicle_Types,_and_Routes.html): per vClass
  ``accel`` (passenger 2.6, bus 1.2, truck 1.3, delivery 2.6 m/s²), ``emergencyDecel``
  (passenger/delivery 9.0, bus/truck 7.0 m/s²), ``sigma`` 0.5, ``tau`` 1.0 s, ``minGap``
  2.5 m, ``speedDev`` 0.1 (speedFactor normc(1, 0.1, 0.2, 2)), ``apparentDecel`` = ``decel``.
* **ITE** -- Institute of Transportation Engineers, yellow change interval
  ``t_y = t_r + v / (2a + 2Gg)`` with perception-reaction time ``t_r`` = 1 s and deceleration
  ``a`` = 10 ft/s² = 3.05 m/s² (ITE Traffic Engineering Handbook; ITE "Guidelines for
  Determining Traffic Signal Change and Clearance Intervals", 2020): the deceleration a driver
  is expected to accept when stopping for a yellow light. Passenger cars and vans use
  ``decel = 3.0 m/s²`` (0.31 g).
* **AASHTO** -- A Policy on Geometric Design of Highways and Streets (2011), 3.2.2: 3.4 m/s² is
  a comfortable deceleration for most drivers; the upper end of normal braking.
* **Treiber & Kesting** -- Traffic Flow Dynamics (Springer 2013), ch. 11 (IDM): comfortable
  deceleration ``b`` about 2 m/s²; heavy vehicles brake more gently. Buses (standing
  passengers) and trucks use ``decel = 2.5 m/s²``, between IDM's 2 m/s² and ITE's 3.05 m/s².
* Our choices: heavy vehicles keep a wider time gap, ``tau`` 1.5 s for buses and trucks (the
  IDM literature uses 1.5 s for trucks against 1.0-1.5 s for cars); ``speedDev`` 0.05 for buses
  and trucks (they keep close to the limit; SUMO's 0.1 lets one vehicle in six drive faster
  than 1.1 times the limit).

The generated traffic lights' yellow time follows the ITE formula (see
:func:`scenarios.ite_yellow_s`), so a vehicle that cannot stop with its ``decel`` when the light
turns yellow clears the stop line before red, and an ITE all-red interval
(:func:`scenarios.ite_red_clearance_s`) lets vehicles still in the junction (left turners
waiting inside it) clear before the conflicting green.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

__all__ = ["PEDESTRIAN", "VEHICLE_CLASSES", "VTYPE_ATTRIBUTES", "vtype_attributes",
           "write_vtypes"]

#: The participant class of a pedestrian (a SUMO person with SUMO's ``DEFAULT_PEDTYPE``).
PEDESTRIAN = "pedestrian"

#: The SUMO ``<vType>`` attributes written for every class, in this order.
VTYPE_ATTRIBUTES: tuple[str, ...] = (
    "vClass", "length", "width", "height", "minGap", "maxSpeed", "speedDev",
    "carFollowModel", "accel", "decel", "apparentDecel", "emergencyDecel", "sigma", "tau",
    "color",
)

#: Vehicle classes a scenario's demand may name: their SUMO vType attributes (SI units: m,
#: m/s, m/s², s) and message-set ``classification`` (J2735 VehicleType: 10 passenger car,
#: 20 light truck/van, 25 medium truck, 50 bus). Sources in the module docstring.
VEHICLE_CLASSES: dict[str, dict[str, Any]] = {
    "passenger": {"vClass": "passenger", "length": 4.8, "width": 1.8, "height": 1.5,
                  "minGap": 2.5, "maxSpeed": 50.0, "speedDev": 0.1,
                  "carFollowModel": "Krauss", "accel": 2.6, "decel": 3.0,
                  "apparentDecel": 3.0, "emergencyDecel": 9.0, "sigma": 0.5, "tau": 1.0,
                  "classification": 10, "color": "yellow"},
    "bus": {"vClass": "bus", "length": 12.0, "width": 2.5, "height": 3.2,
            "minGap": 2.5, "maxSpeed": 25.0, "speedDev": 0.05,
            "carFollowModel": "Krauss", "accel": 1.2, "decel": 2.5,
            "apparentDecel": 2.5, "emergencyDecel": 7.0, "sigma": 0.5, "tau": 1.5,
            "classification": 50, "color": "blue"},
    "sanitation_truck": {"vClass": "truck", "length": 8.5, "width": 2.5, "height": 3.2,
                         "minGap": 2.5, "maxSpeed": 20.0, "speedDev": 0.05,
                         "carFollowModel": "Krauss", "accel": 1.0, "decel": 2.5,
                         "apparentDecel": 2.5, "emergencyDecel": 7.0, "sigma": 0.5, "tau": 1.5,
                         "classification": 25, "color": "green"},
    "logistics_van": {"vClass": "delivery", "length": 6.0, "width": 2.1, "height": 2.6,
                      "minGap": 2.5, "maxSpeed": 30.0, "speedDev": 0.1,
                      "carFollowModel": "Krauss", "accel": 2.0, "decel": 3.0,
                      "apparentDecel": 3.0, "emergencyDecel": 8.0, "sigma": 0.5, "tau": 1.0,
                      "classification": 20, "color": "white"},
    # an ambulance-sized emergency vehicle (SUMO vClass "emergency", which SUMO's defaults
    # treat like a passenger car with the speed of a car; our choice of size: a van); J2735
    # BasicVehicleClass 60 emergency-TypeUnknown. SUMO flashes the blue light (signal bit 11)
    # of every vClass "emergency" vehicle by itself, toggling it every second (measured with
    # SUMO 1.2x); the OBU sends emergencyExt sirenUse / lightsUse inUse while the bit is set,
    # so a test case states it with an action ``signal``: ["blue"] on a call, [] off. SUMO's
    # bluelight device (other traffic forms rescue lanes) is not used.
    "emergency": {"vClass": "emergency", "length": 6.0, "width": 2.1, "height": 2.6,
                  "minGap": 2.5, "maxSpeed": 40.0, "speedDev": 0.1,
                  "carFollowModel": "Krauss", "accel": 2.6, "decel": 3.0,
                  "apparentDecel": 3.0, "emergencyDecel": 9.0, "sigma": 0.5, "tau": 1.0,
                  "classification": 60, "color": "red"},
}


def vtype_attributes(name: str) -> dict[str, str]:
    """The ``<vType>`` XML attributes of class ``name`` (``id`` plus :data:`VTYPE_ATTRIBUTES`).

    Raises:
        KeyError: ``name`` is not in :data:`VEHICLE_CLASSES`.
    """
    spec = VEHICLE_CLASSES[name]
    return {"id": name, **{k: str(spec[k]) for k in VTYPE_ATTRIBUTES}}


def write_vtypes(path: Path) -> Path:
    """Write every class of :data:`VEHICLE_CLASSES` as a ``<vType>`` into an additional file.

    Written to a temporary file beside ``path`` and moved into place (atomic). Returns ``path``.
    """
    root = ET.Element("additional")
    for name in VEHICLE_CLASSES:
        ET.SubElement(root, "vType", vtype_attributes(name))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xml", dir=path.parent)
    os.close(fd)
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
