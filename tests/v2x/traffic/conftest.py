"""A straight road built by SUMO's own ``netconvert``, and route files for it.

The road runs east from (0, 0) to (1000, 0): one edge ``we`` of two 3.2 m lanes at 30 m/s,
``we_0`` (rightmost) centred at y = -4.8 m and ``we_1`` at y = -1.6 m; vehicles heading 90°.
Vehicles of the route files keep their type's ``maxSpeed`` exactly (``sigma=0``,
``speedFactor=1``) and never change lanes by themselves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sumolib

from v2x.traffic import sumo_command

STEP_NS = 100_000_000
KMH = 1 / 3.6


@pytest.fixture(scope="session")
def road(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The road's .net.xml."""
    out = tmp_path_factory.mktemp("road")
    (out / "road.nod.xml").write_text(
        '<nodes><node id="w" x="0" y="0"/><node id="e" x="1000" y="0"/></nodes>\n')
    (out / "road.edg.xml").write_text(
        '<edges><edge id="we" from="w" to="e" numLanes="2" speed="30"/></edges>\n')
    proc = subprocess.run([sumolib.checkBinary("netconvert"), "-n", "road.nod.xml",
                           "-e", "road.edg.xml", "-o", "road.net.xml"], cwd=out,
                          capture_output=True, text=True, check=False)
    if proc.returncode:  # pragma: no cover - a broken SUMO install
        raise RuntimeError(proc.stderr)
    return out / "road.net.xml"


def vtype(name: str, speed_kmh: float) -> str:
    """A vehicle type that drives at exactly ``speed_kmh`` and keeps its lane."""
    return (f'<vType id="{name}" maxSpeed="{speed_kmh * KMH!r}" sigma="0" speedFactor="1" '
            'lcStrategic="-1" lcSpeedGain="0" lcKeepRight="0" lcCooperative="-1"/>')


def vehicle(name: str, vt: str, lane: int, pos: float, depart: float = 0.0) -> str:
    return (f'<vehicle id="{name}" type="{vt}" depart="{depart}" departLane="{lane}" '
            f'departPos="{pos}" departSpeed="max"><route edges="we"/></vehicle>')


def routes(tmp_path: Path, *items: str) -> Path:
    path = tmp_path / "test.rou.xml"
    path.write_text("<routes>\n" + "\n".join(items) + "\n</routes>\n")
    return path


def cmd(net: Path, route: Path) -> list[str]:
    return sumo_command(net, [route], [], step_ns=STEP_NS, seed=1)
