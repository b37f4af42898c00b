"""The cloud congestion detector (v2x.cloud) on hand-made BSMs: when a link becomes a jam,
where its event is and which RSUs get it. The application on a broker end to end:
tests/test_realtime.py."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.cloud import CongestionConfig, CongestionDetector, RoadLink
from v2x.errors import ConfigError
from v2x.geo import GeoFrame
from v2x.messages import BsmBatch

_E0, _N0 = GeoFrame().project(39.05583, 117.05500)
GEO = GeoFrame(offset_x=-_E0, offset_y=-_N0)  # network (0, 0) at Tianjin South Station
LINKS = [RoadLink("fwd", (np.array([[-300.0, -1.75], [300.0, -1.75]]),)),   # eastbound
         RoadLink("bwd", (np.array([[300.0, 1.75], [-300.0, 1.75]]),))]     # westbound
RSUS = {"west": (0.0, 10.0), "east": (250.0, 10.0), "far": (-400.0, 10.0)}
QUEUE = [(1, 150.0), (2, 158.0), (3, 166.0)]  # (vehicle, front x [m]) standing eastbound


def _bsm(rows: list[tuple[int, float, float, float, float]]) -> BsmBatch:
    """BSMs of (vehicle, x, y [m], speed [m/s], heading [deg]) in the wire's units."""
    v, x, y, speed, heading = (np.array(c, np.float64) for c in zip(*rows, strict=True))
    lat, lon = GEO.to_latlon(x, y)
    n = len(rows)

    def i64(values: object) -> np.ndarray:
        return np.broadcast_to(np.asarray(values, np.int64), (n,)).copy()

    return BsmBatch(sender=i64(v), msg_cnt=i64(0), sec_mark=i64(0),
                    lat=i64(np.round(lat * 1e7)), lon=i64(np.round(lon * 1e7)),
                    speed=i64(np.round(speed / 0.02)), heading=i64(np.round(heading / 0.0125)),
                    accel_long=i64(0), width=i64(180), length=i64(450), height=i64(30),
                    classification=i64(10), brake=np.zeros(n, bool), events=i64(0))


def _feed(det: CongestionDetector, extra: list[tuple[int, float, float, float, float]],
          until_s: float) -> dict[float, list]:
    """Every 100 ms from 0 to ``until_s``: the queue (0.5 m/s = 1.8 km/h) and ``extra``."""
    out = {}
    for k in range(int(round(until_s * 10)) + 1):
        t = k / 10
        det.observe(t, _bsm([(v, x, -1.75, 0.5, 90.0) for v, x in QUEUE] + extra))
        out[t] = det.jams(t)
    return out


def test_a_queue_becomes_a_jam_after_the_hold_time() -> None:
    det = CongestionDetector(LINKS, RSUS, geo=GEO)  # 10 km/h, 3 vehicles, 3 s
    # a car westbound on the other carriageway: the other link (heading 270), 1 < 3 vehicles
    jams = _feed(det, [(9, 100.0, 1.75, 14.0, 270.0)], 3.2)
    # congested from the first BSMs at 0.0 s: a jam from 3.0 s, not before
    assert [t for t, j in jams.items() if j] == [3.0, 3.1, 3.2]
    (jam,) = jams[3.0]
    assert jam.link == "fwd"
    assert jam.tail == pytest.approx((150.0, -1.75), abs=0.02)
    assert jam.head == pytest.approx((166.0, -1.75), abs=0.02)
    ev = jam.event
    assert ev.event_type == 707 and ev.radius_m == pytest.approx(18.0, abs=0.05)  # 16/2 + 10
    x, y = GEO.to_xy(ev.pos.lat_deg, ev.pos.lon_deg)
    assert (float(x), float(y)) == pytest.approx((158.0, -1.75), abs=0.02)
    # west (150 m from the tail, before it) gets it; east stands past the head, far is 550 m
    assert jam.rsus == ("west",)
    rsi = det.rsi(jam, det.rsu_xy("west"))
    assert rsi.events == (ev,) and rsi.msg_cnt == 0


def test_a_fast_vehicle_on_the_link_keeps_the_mean_above_the_jam_speed() -> None:
    det = CongestionDetector(LINKS, RSUS, geo=GEO)
    # (3 x 0.5 + 12) / 4 = 3.4 m/s = 12.2 km/h > 10 km/h: not congested
    assert not any(_feed(det, [(8, -50.0, -1.75, 12.0, 90.0)], 4.0).values())
    # a wrong-way BSM on the eastbound lane matches no link: the queue alone is a jam
    det = CongestionDetector(LINKS, RSUS, geo=GEO, config=CongestionConfig(hold_s=1.0))
    jams = _feed(det, [(8, -50.0, -1.75, 12.0, 270.0)], 1.0)
    assert jams[1.0] and not jams[0.9]


def test_bad_settings_name_their_key() -> None:
    with pytest.raises(ConfigError, match="cloud.hold_s"):
        CongestionConfig(hold_s=0.0)
    with pytest.raises(ConfigError, match="cloud.links"):
        CongestionDetector([], RSUS, geo=GEO)


def test_the_cloud_command_needs_a_broker() -> None:
    from click.testing import CliRunner

    from v2x.cli import main

    # memory and embedded are buses of the cloud process alone: no run reaches them
    for spec in ("memory", "embedded"):
        res = CliRunner().invoke(main, ["cloud", "xiqing-cloud-jam-tjw", "--bus", spec])
        assert res.exit_code == 2, res.output
        assert res.output == (f"v2x: error: key 'bus': the cloud application needs a broker "
                              f"the runs share, not --bus {spec}: --bus mqtt://host:port\n")


def test_the_cloud_command_says_only_the_error_when_the_broker_is_unreachable() -> None:
    import socket

    from click.testing import CliRunner

    from v2x.cli import main

    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(main, ["cloud", "xiqing-cloud-jam-tjw", "--bus",
                                    f"mqtt://127.0.0.1:{port}", "--duration", "5"])
    assert res.exit_code == 2, res.output
    assert "cannot connect" in res.output and f"127.0.0.1:{port}" in res.output
    assert "BSMs read" not in res.output  # no summary of a run that never started


def test_matching_in_chunks_matches_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from v2x.cloud import _congestion

    det = CongestionDetector(LINKS, RSUS, geo=GEO)
    x = np.linspace(-290.0, 290.0, 7)
    y = np.array([-1.75, 1.75, -1.75, 9.0, -1.0, 2.0, -1.75])
    heading = np.array([90.0, 270.0, 270.0, 90.0, 95.0, 260.0, 90.0])
    whole = det._match(x, y, heading)
    monkeypatch.setattr(_congestion, "_MAX_PAIRS", 2)  # one point (2 segments) at a time
    chunked = det._match(x, y, heading)
    assert whole[0].tolist() == chunked[0].tolist() == [0, 1, -1, -1, 0, 1, 0]
    assert np.array_equal(whole[1], chunked[1])
    assert whole[1][0] == pytest.approx(10.0)  # 10 m along the eastbound lane from x = -300
