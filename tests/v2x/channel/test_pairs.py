"""find_pairs against a brute-force distance matrix."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.channel import LinkBatch, find_pairs
from v2x.channel._pairs import DENSE_MAX_PAIRS, _same_node_grouped


def _brute(tx_xy, rx_xy, r, tx_node, rx_node):
    d = np.sqrt(((tx_xy[:, None, :] - rx_xy[None, :, :]) ** 2).sum(axis=2))
    ok = (d <= r) & (tx_node[:, None] != rx_node[None, :])
    i, j = np.nonzero(ok)  # row-major: already sorted by (tx, rx)
    return i, j, d[i, j]


@pytest.mark.parametrize(("seed", "n"), [(0, 300), (1, 300), (2, 600)])
def test_matches_brute_force_and_excludes_self_pairs(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    # n vehicles that both send and receive, plus 10 RSUs that only receive; 300 x 310 takes
    # the dense path, 600 x 610 > DENSE_MAX_PAIRS the grid search: both must give the same
    assert (300 * 310 <= DENSE_MAX_PAIRS) and (600 * 610 > DENSE_MAX_PAIRS)
    veh = rng.uniform(0.0, 1500.0, size=(n, 2))
    rsu = rng.uniform(0.0, 1500.0, size=(10, 2))
    veh_node = np.arange(n, dtype=np.int64)
    rx_xy = np.vstack([veh, rsu])
    rx_node = np.concatenate([veh_node, 1_000_000 + np.arange(10, dtype=np.int64)])
    assert len(rx_node) == n + 10

    got = find_pairs(veh, rx_xy, 300.0, tx_node=veh_node, rx_node=rx_node)
    i, j, d = _brute(veh, rx_xy, 300.0, veh_node, rx_node)

    assert len(got) == len(i) > 0
    np.testing.assert_array_equal(got.tx, i)
    np.testing.assert_array_equal(got.rx, j)
    # both paths compute sqrt(dx*dx + dy*dy) themselves: the same bits as the brute force
    dx = veh[i, 0] - rx_xy[j, 0]
    dy = veh[i, 1] - rx_xy[j, 1]
    np.testing.assert_array_equal(got.distance_m, np.sqrt(dx * dx + dy * dy))
    np.testing.assert_allclose(got.distance_m, d, rtol=0, atol=1e-9)
    assert got.tx.dtype == np.int64 and got.rx.dtype == np.int64
    assert got.distance_m.dtype == np.float64
    # no vehicle hears itself: vehicle k is tx k and rx k
    assert not np.any(got.tx == got.rx)
    # sorted by (tx, rx)
    key = got.tx * len(rx_xy) + got.rx
    assert np.all(np.diff(key) > 0)


@pytest.mark.parametrize("n", [40, 700])
def test_groups_give_the_pairs_of_each_group_searched_alone(n: int) -> None:
    # 5 groups (steps of a window) over the SAME area, so a group-blind search would pair
    # across groups; 40 x 5 per side takes the dense path, 700 x 5 the grid search
    rng = np.random.default_rng(n)
    groups = 5
    tx_xy = rng.uniform(0.0, 1200.0, size=(n * groups, 2))
    rx_xy = rng.uniform(0.0, 1200.0, size=(n * groups, 2))
    tx_g = np.repeat(np.arange(groups), n)
    rx_g = np.repeat(np.arange(groups), n)
    tx_node = np.tile(np.arange(n, dtype=np.int64), groups)  # the same nodes in every group
    rx_node = tx_node.copy()
    got = find_pairs(tx_xy, rx_xy, 300.0, tx_node=tx_node, rx_node=rx_node,
                     tx_group=tx_g, rx_group=rx_g)
    want_tx, want_rx, want_d = [], [], []
    for g in range(groups):
        sl = slice(g * n, (g + 1) * n)
        one = find_pairs(tx_xy[sl], rx_xy[sl], 300.0, tx_node=tx_node[sl], rx_node=rx_node[sl])
        want_tx.append(one.tx + g * n)
        want_rx.append(one.rx + g * n)
        want_d.append(one.distance_m)
    np.testing.assert_array_equal(got.tx, np.concatenate(want_tx))
    np.testing.assert_array_equal(got.rx, np.concatenate(want_rx))
    np.testing.assert_array_equal(got.distance_m, np.concatenate(want_d))
    assert np.all(tx_g[got.tx] == rx_g[got.rx]) and len(got) > 0
    # groups not in index order (receivers of every group, then 3 extra per group, as the
    # simulation lays out vehicles and RSUs): the same pairs, in (tx, rx) order
    extra = rng.uniform(0.0, 1200.0, size=(3 * groups, 2))
    rx2 = np.vstack([rx_xy, extra])
    rx2_g = np.concatenate([rx_g, np.tile(np.arange(groups), 3)])
    rx2_node = np.concatenate([rx_node, 10_000 + np.arange(3 * groups)])
    got2 = find_pairs(tx_xy, rx2, 300.0, tx_node=tx_node, rx_node=rx2_node,
                      tx_group=tx_g, rx_group=rx2_g)
    i, j, d = _brute(tx_xy, rx2, 300.0, tx_node, rx2_node)
    same = tx_g[i] == rx2_g[j]
    np.testing.assert_array_equal(got2.tx, i[same])
    np.testing.assert_array_equal(got2.rx, j[same])
    np.testing.assert_allclose(got2.distance_m, d[same], rtol=0, atol=1e-9)


def test_groups_of_unequal_sizes_give_the_pairs_of_each_group_searched_alone() -> None:
    # one block for all groups pads the smaller ones: padding must never pair, and a group
    # with senders but no receivers (or the reverse) gives nothing
    rng = np.random.default_rng(7)
    n_tx, n_rx = [3, 0, 17, 9, 1], [5, 8, 0, 12, 30]
    tx_g = np.repeat(np.arange(5), n_tx)
    rx_g = np.repeat(np.arange(5), n_rx)
    tx_xy = rng.uniform(0.0, 400.0, size=(tx_g.size, 2))
    rx_xy = rng.uniform(0.0, 400.0, size=(rx_g.size, 2))
    tx_node = rng.integers(0, 20, size=tx_g.size)
    rx_node = rng.integers(0, 20, size=rx_g.size)
    got = find_pairs(tx_xy, rx_xy, 150.0, tx_node=tx_node, rx_node=rx_node,
                     tx_group=tx_g, rx_group=rx_g)
    i, j, _ = _brute(tx_xy, rx_xy, 150.0, tx_node, rx_node)
    same = tx_g[i] == rx_g[j]
    np.testing.assert_array_equal(got.tx, i[same])
    np.testing.assert_array_equal(got.rx, j[same])
    dx = tx_xy[got.tx, 0] - rx_xy[got.rx, 0]
    dy = tx_xy[got.tx, 1] - rx_xy[got.rx, 1]
    np.testing.assert_array_equal(got.distance_m, np.sqrt(dx * dx + dy * dy))
    assert len(got) > 20 and set(tx_g[got.tx].tolist()) == {0, 3, 4}


def test_one_group_array_without_the_other_raises() -> None:
    xy = np.zeros((2, 2))
    with pytest.raises(ValueError, match="both tx_group and rx_group"):
        find_pairs(xy, xy, 1.0, tx_node=np.arange(2), rx_node=np.arange(2),
                   tx_group=np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="rx_group"):
        find_pairs(xy, xy, 1.0, tx_node=np.arange(2), rx_node=np.arange(2),
                   tx_group=np.zeros(2, np.int64), rx_group=np.zeros(3, np.int64))


def test_boundary_inclusive_and_colocated_nodes_kept() -> None:
    tx = np.array([[0.0, 0.0]])
    # (3, 4) is exactly 5 m away; (0, 0) is a different node at the same spot; (6, 0) is out
    rx = np.array([[6.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    got = find_pairs(tx, rx, 5.0, tx_node=np.array([7]), rx_node=np.array([1, 2, 3]))
    np.testing.assert_array_equal(got.tx, [0, 0])
    np.testing.assert_array_equal(got.rx, [1, 2])
    np.testing.assert_allclose(got.distance_m, [5.0, 0.0])


def test_same_node_at_same_spot_is_excluded() -> None:
    xy = np.array([[0.0, 0.0], [10.0, 0.0]])
    nodes = np.array([4, 5])
    got = find_pairs(xy, xy, np.inf, tx_node=nodes, rx_node=nodes)
    np.testing.assert_array_equal(got.tx, [0, 1])
    np.testing.assert_array_equal(got.rx, [1, 0])
    np.testing.assert_allclose(got.distance_m, [10.0, 10.0])


def test_empty_inputs_give_empty_batch() -> None:
    some = np.array([[0.0, 0.0]])
    none = np.empty((0, 2))
    for tx_xy, rx_xy in ((none, some), (some, none), (none, none)):
        got = find_pairs(
            tx_xy,
            rx_xy,
            100.0,
            tx_node=np.arange(len(tx_xy), dtype=np.int64),
            rx_node=np.arange(len(rx_xy), dtype=np.int64) + 10,
        )
        assert len(got) == 0
        assert got.tx.dtype == np.int64 and got.distance_m.dtype == np.float64


def test_bad_shapes_and_range_raise() -> None:
    xy = np.zeros((2, 2))
    with pytest.raises(ValueError, match="tx_xy"):
        find_pairs(np.zeros((2, 3)), xy, 1.0, tx_node=np.arange(2), rx_node=np.arange(2))
    with pytest.raises(ValueError, match="tx_node"):
        find_pairs(xy, xy, 1.0, tx_node=np.arange(3), rx_node=np.arange(2))
    with pytest.raises(ValueError, match="max_range_m"):
        find_pairs(xy, xy, float("nan"), tx_node=np.arange(2), rx_node=np.arange(2))
    with pytest.raises(ValueError, match="LinkBatch"):
        LinkBatch(np.zeros(2, np.int64), np.zeros(3, np.int64), np.zeros(2))


@pytest.mark.parametrize(("side_m", "path"), [(1000.0, "_dense_rows"), (20_000.0, "_grid")])
def test_large_searches_match_brute_force_dense_rows_or_grid(
        side_m: float, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1200 senders x 1210 receivers > DENSE_MAX_PAIRS: within 300 m of each other, about 22 %
    # of the pairs in a 1 km square (the dense path in blocks of senders wins) and 0.07 % in
    # a 20 km square (the grid of 150 m cells); each must give the brute force's links, order
    # and distance bits; a point on a cell border and co-located nodes included
    import v2x.channel._pairs as pairs

    called: list[str] = []
    inner = getattr(pairs, path)
    monkeypatch.setattr(pairs, path, lambda *a: called.append(path) or inner(*a))
    rng = np.random.default_rng(11)
    tx = rng.uniform(0.0, side_m, size=(1200, 2))
    tx[1] = tx[0] + [300.0, 0.0]  # exactly at the range, across cell borders
    rx = np.vstack([tx, rng.uniform(0.0, side_m, size=(10, 2))])
    tx_node = np.arange(1200, dtype=np.int64)
    rx_node = np.concatenate([tx_node, 5000 + np.arange(10)])
    got = find_pairs(tx, rx, 300.0, tx_node=tx_node, rx_node=rx_node)
    i, j, _ = _brute(tx, rx, 300.0, tx_node, rx_node)
    assert called == [path] and len(i) > 0
    np.testing.assert_array_equal(got.tx, i)
    np.testing.assert_array_equal(got.rx, j)
    dx = tx[i, 0] - rx[j, 0]
    dy = tx[i, 1] - rx[j, 1]
    np.testing.assert_array_equal(got.distance_m, np.sqrt(dx * dx + dy * dy))
    assert {(0, 1), (1, 0)} <= set(zip(got.tx.tolist(), got.rx.tolist(), strict=True))


@pytest.mark.parametrize("far_id", [9, 2**62])  # 2**62: the (group, node) key would overflow
def test_same_node_grouped_pairs_one_node_in_one_group_only(far_id: int) -> None:
    # node 7 sends in groups 0 and 1 and receives in groups 0 and 1; node 8 receives in group
    # 1 only; node far_id sends in group 1: pairs (tx 0, rx 0) and (tx 1, rx 2), never across
    # groups
    tx_node = np.array([7, 7, far_id], np.int64)
    tx_g = np.array([0, 1, 1], np.int64)
    rx_node = np.array([7, 8, 7], np.int64)
    rx_g = np.array([0, 1, 1], np.int64)
    i, j = _same_node_grouped(tx_node, rx_node, tx_g, rx_g)
    np.testing.assert_array_equal(i, [0, 1])
    np.testing.assert_array_equal(j, [0, 2])


def test_own_receiver_row_of_each_sender() -> None:
    # senders of nodes 5, 7, 5, 9 and receivers 7, 5, 8: the sender's own node is receiver
    # row 1, 0, 1 and none; a node that is two receivers gives None (ids compared per pair)
    from v2x.channel._pairs import _own_receiver

    own = _own_receiver(np.array([5, 7, 5, 9]), np.array([7, 5, 8]))
    assert own is not None and own.tolist() == [1, 0, 1, -1]
    assert _own_receiver(np.array([5, 7]), np.array([5, 8, 5])) is None


def test_grid_with_a_node_that_is_two_receivers_matches_brute_force(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the grid search (20 km square: 0.07 % of the pairs in range) when the receivers list a
    # node twice (no single own row per sender): the ids are compared per pair, same links
    import v2x.channel._pairs as pairs

    called: list[str] = []
    inner = pairs._grid
    monkeypatch.setattr(pairs, "_grid", lambda *a: called.append("grid") or inner(*a))
    rng = np.random.default_rng(12)
    tx = rng.uniform(0.0, 20_000.0, size=(1200, 2))
    rx = np.vstack([tx, tx[:5] + 1.0])  # nodes 0..4 receive at two antennas 1.4 m apart
    tx_node = np.arange(1200, dtype=np.int64)
    rx_node = np.concatenate([tx_node, tx_node[:5]])
    got = find_pairs(tx, rx, 300.0, tx_node=tx_node, rx_node=rx_node)
    i, j, _ = _brute(tx, rx, 300.0, tx_node, rx_node)
    assert called == ["grid"] and len(i) > 0
    np.testing.assert_array_equal(got.tx, i)
    np.testing.assert_array_equal(got.rx, j)
