"""What hosts learn from the MAPs they receive (HeardMaps, one for RLVW, GLOSA, ICW and LTA):
which host heard which RSU's MAP, each sender's MAP decoded once, by hand on real MAP frames
through UPER."""

from __future__ import annotations

import numpy as np
import pytest

from tests.v2x.apps._rsi_window import RSU, hosts, rsu_window
from v2x.apps import HeardMaps, node_key
from v2x.apps._heard_maps import HostRsuPairs, distinct_rows
from v2x.geo import GeoFrame
from v2x.messages import MapData, MapNode, encode_frame


def test_host_rsu_pairs_by_hand() -> None:
    pairs = HostRsuPairs()
    assert pairs.has([1], [RSU]).tolist() == [False]
    pairs.add([1, 2, 1], [RSU, RSU, RSU])  # (1, RSU) twice: held once
    pairs.add(np.empty(0, np.int64), np.empty(0, np.int64))
    assert len(pairs) == 2
    assert pairs.has([1, 2, 3, 1, 1], [RSU, RSU, RSU, RSU + 1, -1]).tolist() == [
        True, True, False, False, False]


def test_distinct_rows_without_sorting() -> None:
    rows, position = distinct_rows(np.array([5, 2, 5, 0, 2]), 8)
    assert rows.tolist() == [0, 2, 5] and position.tolist() == [2, 1, 2, 0, 1]
    rows, position = distinct_rows(np.array([], np.int64), 3)
    assert rows.size == 0 and position.size == 0


def test_learn_by_hand(node: MapNode, frame: GeoFrame) -> None:
    # node 7 (conftest, refPos at network (0, 0)); vehicles 10, 11, 12 in host rows 0..2
    key = int(node_key(7))
    frames = [encode_frame(MapData(msg_cnt=5, nodes=(node,))), None]  # frame 1: undecodable
    hs = hosts(x=[0.0] * 3, y=[0.0] * 3, speed=[0.0] * 3, heading_deg=[0.0] * 3,
               index=[10, 11, 12])
    maps = HeardMaps()
    assert not maps.known
    with pytest.raises(RuntimeError, match="no MAP"):
        _ = maps.table
    # RSU 0's MAP reaches rows 0 and 2; RSU 1's does not decode: it teaches nothing
    assert maps.learn(rsu_window(frame, hs, frames, [
        (0, 1, "MAP", RSU + 1), (0, 0, "MAP"), (2, 0, "MAP")]))
    assert maps.known and maps.node_sender == {key: RSU}
    assert maps.cache is not None and maps.cache.builds == 1
    np.testing.assert_allclose(maps.centre[key], (0.0, 0.0), atol=0.02)  # 1e-7 deg ~ 1 cm
    # every MAP reception counts as heard, the undecodable one too (as the applications
    # always did: the frame is the same for every receiver, and nothing was learned from it)
    assert maps.heard([10, 11, 12, 10], [RSU, RSU, RSU, RSU + 1]).tolist() == [
        True, False, True, True]
    assert maps.sender_of(np.array([key, key + 1, -1])).tolist() == [RSU, -1, -1]
    assert maps.stop_circles.lanes is maps.table
    # RSU 0's MAP again, now to row 1 too: nothing new to decode, one more host heard it
    table = maps.table
    assert not maps.learn(rsu_window(frame, hs, frames, [(1, 0, "MAP"), (0, 0, "MAP")]))
    assert maps.heard([11], [RSU]).tolist() == [True] and maps.table is table
    # RSU 1 now sends the same node decodably: learned from it (its sender now), the lane
    # table unchanged (same content, not built again)
    assert maps.learn(rsu_window(frame, hs, frames, [(2, 0, "MAP", RSU + 1)]))
    assert maps.node_sender == {key: RSU + 1} and maps.cache.builds == 1
    assert maps.heard([12, 11], [RSU + 1, RSU + 1]).tolist() == [True, False]
