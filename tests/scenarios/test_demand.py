"""Vehicle types, named participants placed exactly, random pedestrians: written files read back
and loaded into a real SUMO run."""

from __future__ import annotations

import types
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import sumolib

import scenarios
from scenarios import (
    VEHICLE_CLASSES,
    VTYPE_ATTRIBUTES,
    GeoConfig,
    IntersectionNetwork,
    ParticipantSpec,
    build_network,
    participants_equipped,
    write_participants,
    write_pedestrians,
    write_vtypes,
)
from v2x.errors import ConfigError

pytestmark = pytest.mark.sumo

ANCHOR = GeoConfig(anchor_lat=39.05583, anchor_lon=117.05500)
G = 9.80665


@pytest.fixture(scope="module", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("V2X_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def crossing_net() -> Path:
    """A signalized 4-arm intersection with sidewalks (lane 0) and crosswalks."""
    return build_network(IntersectionNetwork(kind="intersection", crosswalks=True), None,
                         ANCHOR)


def _sumo(net: Path, routes: list[Path], vtypes: Path) -> None:
    import libsumo

    libsumo.start([sumolib.checkBinary("sumo"), "-n", str(net),
                   "-r", ",".join(map(str, routes)), "-a", str(vtypes),
                   "--step-length", "0.1", "--no-step-log", "true", "--no-warnings", "true"])


# -- vehicle types ----------------------------------------------------------------------

def test_vtype_file_equals_the_table(tmp_path: Path) -> None:
    root = ET.parse(write_vtypes(tmp_path / "vt.add.xml")).getroot()
    written = {v.get("id"): v.attrib for v in root.iter("vType")}
    assert set(written) == set(VEHICLE_CLASSES)
    for name, spec in VEHICLE_CLASSES.items():
        assert written[name] == {"id": name, **{k: str(spec[k]) for k in VTYPE_ATTRIBUTES}}
    # the documented values: comfortable decelerations (ITE 3.05, IDM 2 m/s²) ...
    assert written["passenger"]["decel"] == "3.0" and written["bus"]["decel"] == "2.5"
    assert written["passenger"]["emergencyDecel"] == "9.0"
    assert written["passenger"]["carFollowModel"] == "Krauss"


def test_planned_braking_stays_below_the_hard_braking_threshold() -> None:
    # Krauss never plans more than decel; 0.4 g = 3.923 m/s² starts a hard-braking event
    for spec in VEHICLE_CLASSES.values():
        assert spec["decel"] < 0.4 * G < spec["emergencyDecel"]
        assert spec["apparentDecel"] == spec["decel"]


def test_vtypes_are_loaded_by_sumo(tmp_path: Path, crossing_net: Path) -> None:
    import libsumo

    vt = write_vtypes(tmp_path / "vt.add.xml")
    routes = write_participants([], tmp_path / "none.rou.xml")
    _sumo(crossing_net, [routes], vt)
    try:
        for name, spec in VEHICLE_CLASSES.items():
            assert libsumo.vehicletype.getDecel(name) == spec["decel"]
            assert libsumo.vehicletype.getEmergencyDecel(name) == spec["emergencyDecel"]
            assert libsumo.vehicletype.getTau(name) == spec["tau"]
            assert libsumo.vehicletype.getVehicleClass(name) == spec["vClass"]
    finally:
        libsumo.close()


# -- named participants -------------------------------------------------------------------

PARTICIPANTS = [
    ParticipantSpec(id="host", cls="passenger", lane="W_in_1", pos_m=40.0, speed_kmh=45.0,
                    depart_ns=1_000_000_000),
    ParticipantSpec(id="lead", cls="bus", lane="W_in_2", pos_m=80.5, speed_kmh=30.0,
                    depart_ns=1_000_000_000, equipped=False),
    ParticipantSpec(id="walker", cls="pedestrian", lane="S_in_0", pos_m=150.0, speed_kmh=4.5,
                    depart_ns=500_000_000, edges=("S_in", "E_out")),
    ParticipantSpec(id="van", cls="logistics_van", lane="N_in_1", pos_m=12.25, speed_kmh=0.0,
                    depart_ns=2_300_000_000, edges=("N_in", "E_out")),
]


def test_participants_file(tmp_path: Path, crossing_net: Path) -> None:
    path = write_participants(PARTICIPANTS, tmp_path / "p.rou.xml", net_file=crossing_net)
    root = ET.parse(path).getroot()
    assert [el.get("id") for el in root] == ["walker", "host", "lead", "van"]  # by depart
    host = root.find("vehicle[@id='host']")
    assert host is not None
    assert host.get("departLane") == "1" and host.get("departPos") == "40.0"
    assert float(host.get("departSpeed", "nan")) == 45.0 / 3.6
    assert host.get("type") == "passenger" and host.get("depart") == "1.0"
    # no edges given: from W_in straight on to E_out
    assert host.find("route").get("edges") == "W_in E_out"  # type: ignore[union-attr]
    assert participants_equipped(path) == {"walker": True, "host": True, "lead": False,
                                           "van": True}


def test_participants_appear_exactly_in_sumo(tmp_path: Path, crossing_net: Path) -> None:
    import libsumo

    path = write_participants(PARTICIPANTS, tmp_path / "p.rou.xml", net_file=crossing_net)
    _sumo(crossing_net, [path], write_vtypes(tmp_path / "vt.add.xml"))
    seen: dict[str, tuple] = {}
    try:
        for _ in range(30):
            libsumo.simulationStep()
            t = round(libsumo.simulation.getTime(), 6)
            for v in libsumo.vehicle.getIDList():
                if v not in seen:
                    seen[v] = (t, libsumo.vehicle.getLaneID(v), libsumo.vehicle.getLanePosition(v),
                               libsumo.vehicle.getSpeed(v), libsumo.vehicle.getTypeID(v))
            for p in libsumo.person.getIDList():
                if p not in seen:
                    seen[p] = (t, libsumo.person.getRoadID(p), libsumo.person.getLanePosition(p))
    finally:
        libsumo.close()
    # first seen in the states of depart + one step (0.1 s), exactly where and as fast as asked
    assert seen["host"][:2] == (1.1, "W_in_1") and seen["host"][4] == "passenger"
    assert seen["host"][2] == pytest.approx(40.0, abs=1e-9)
    assert seen["host"][3] == pytest.approx(12.5, abs=1e-9)               # 45 km/h
    assert seen["lead"][:2] == (1.1, "W_in_2") and seen["lead"][4] == "bus"
    assert seen["lead"][2] == pytest.approx(80.5, abs=1e-9)
    assert seen["lead"][3] == pytest.approx(30.0 / 3.6, abs=1e-9)
    assert seen["van"][:2] == (2.4, "N_in_1")
    assert seen["van"][2] == pytest.approx(12.25, abs=1e-9) and seen["van"][3] == 0.0
    assert seen["walker"][:2] == (0.6, "S_in")
    assert seen["walker"][2] == pytest.approx(150.0, abs=1e-9)


@pytest.mark.parametrize(("spec", "key", "match"), [
    (ParticipantSpec(id="a", cls="tank", lane="W_in_1"), "participants.a.class", "unknown"),
    (ParticipantSpec(id="a", cls="passenger", lane="W_in"), "participants.a.lane", "lane id"),
    (ParticipantSpec(id="a", cls="passenger", lane="W_in_1", edges=("E_in",)),
     "participants.a.lane", "first edge"),
    (ParticipantSpec(id="a", cls="passenger"), "participants.a.lane", "lane or edges"),
    (ParticipantSpec(id="a", cls="passenger", lane="W_in_1", pos_m=-1.0),
     "participants.a.pos_m", ">= 0"),
    (ParticipantSpec(id="a", cls="passenger", lane="Q_in_1"), "participants.a.lane",
     "not in the network"),
    # SUMO would silently put it at the lane's end: 10 km is beyond any arm of the crossing
    (ParticipantSpec(id="a", cls="passenger", lane="W_in_1", pos_m=10_000.0),
     "participants.a.pos_m", "beyond the end of lane 'W_in_1'"),
])
def test_participant_errors_name_the_key(tmp_path: Path, crossing_net: Path,
                                         spec: ParticipantSpec, key: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        write_participants([spec], tmp_path / "p.rou.xml", net_file=crossing_net)
    assert info.value.key == key


def test_duplicate_participant_id(tmp_path: Path) -> None:
    twice = [ParticipantSpec(id="a", cls="passenger", edges=("W_in",))] * 2
    with pytest.raises(ConfigError, match="twice") as info:
        write_participants(twice, tmp_path / "p.rou.xml")
    assert info.value.key == "participants.a.id"


# -- random pedestrians ------------------------------------------------------------------

def test_random_pedestrians_walk_in_sumo(tmp_path: Path, crossing_net: Path) -> None:
    import libsumo

    # 720 an hour over [0, 60 s): one every 5 s -> 12 persons departing at 0, 5, ..., 55 s
    path = write_pedestrians(crossing_net, tmp_path / "peds.rou.xml", per_hour=720.0,
                             begin_ns=0, end_ns=60_000_000_000, seed=5)
    persons = ET.parse(path).getroot().findall("person")
    assert [p.get("id") for p in persons] == [f"ped.{i}" for i in range(12)]
    assert [float(p.get("depart", "nan")) for p in persons] == [5.0 * i for i in range(12)]
    assert all(p.find("walk") is not None for p in persons)
    _sumo(crossing_net, [path], write_vtypes(tmp_path / "vt.add.xml"))
    departed: list[str] = []
    try:
        for _ in range(600):
            libsumo.simulationStep()
            departed += libsumo.simulation.getDepartedPersonIDList()
            for p in libsumo.person.getIDList():
                assert libsumo.person.getTypeID(p) == "DEFAULT_PEDTYPE"
    finally:
        libsumo.close()
    assert sorted(departed, key=lambda s: int(s.split(".")[1])) == [f"ped.{i}" for i in range(12)]
    again = write_pedestrians(crossing_net, tmp_path / "again.rou.xml", per_hour=720.0,
                              begin_ns=0, end_ns=60_000_000_000, seed=5)
    assert again.read_bytes() == path.read_bytes()                    # seeded


def test_pedestrians_need_a_positive_rate(tmp_path: Path, crossing_net: Path) -> None:
    with pytest.raises(ConfigError) as info:
        write_pedestrians(crossing_net, tmp_path / "p.rou.xml", per_hour=0.0, begin_ns=0,
                          end_ns=1, seed=1)
    assert info.value.key == "demand.pedestrians_per_hour"


# -- build() with the new pieces ---------------------------------------------------------

def test_build_adds_pedestrians_and_participants() -> None:
    sc = types.SimpleNamespace(
        seed=3, geo=ANCHOR,
        network=IntersectionNetwork(kind="intersection", crosswalks=True, arms=3),
        demand=types.SimpleNamespace(begin_ns=0, end_ns=30_000_000_000, vehicles_per_hour={},
                                     route_files=(), pedestrians_per_hour=360.0),
        participants=[scenarios.Participant.model_validate(
            {"id": "host", "class": "passenger", "lane": "W_in_1", "pos_m": 10.0,
             "speed_kmh": 36.0})])
    built = scenarios.build(sc)
    assert [p.name for p in built.route_files] == ["pedestrians.rou.xml",
                                                   "participants.rou.xml"]
    peds = ET.parse(built.route_files[0]).getroot().findall("person")
    assert len(peds) == 3                                   # 360 an hour over 30 s
    host = ET.parse(built.route_files[1]).getroot().find("vehicle")
    assert host is not None and host.find("route").get("edges") == "W_in E_out"  # type: ignore[union-attr]
