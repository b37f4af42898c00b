"""NeighbourList: the same links, order and distance bits as find_pairs, step after step."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.channel import LinkBatch, NeighbourList, find_pairs
from v2x.channel._pairs import DENSE_MAX_PAIRS


def _same(a: LinkBatch, b: LinkBatch) -> None:
    np.testing.assert_array_equal(a.tx, b.tx)
    np.testing.assert_array_equal(a.rx, b.rx)
    assert a.tx.dtype == b.tx.dtype == a.rx.dtype == b.rx.dtype == np.int64
    assert a.distance_m.tobytes() == b.distance_m.tobytes()


class _Road:
    """800 vehicles on a 20 km strip (800 x 802 combinations a step: beyond the dense
    blocks, about 10 % in range) and two RSUs that send ``rsu_messages`` a step each."""

    def __init__(self, seed: int, rsu_messages: int = 3) -> None:
        self.rsu_messages = rsu_messages
        self.rng = np.random.default_rng(seed)
        self.node = np.arange(800, dtype=np.int64)
        self.xy = np.column_stack([self.rng.uniform(0, 20_000, 800),
                                   self.rng.uniform(0, 30, 800)])
        self.speed = self.rng.uniform(-40, 40, 800)  # [m/s] both directions
        self.next_id = 800

    def move(self, dt: float, jump: bool = False, churn: int = 0) -> None:
        self.xy[:, 0] += self.speed * dt
        if jump:  # one vehicle far beyond any margin
            self.xy[0] += (500.0, 3.0)
        if churn:  # vehicles leave, new ones (new ids) come in
            keep = np.ones(self.node.size, bool)
            keep[self.rng.choice(self.node.size, churn, replace=False)] = False
            new = np.arange(self.next_id, self.next_id + churn, dtype=np.int64)
            self.next_id += churn
            self.node = np.concatenate([self.node[keep], new])
            self.xy = np.vstack([self.xy[keep], np.column_stack(
                [self.rng.uniform(0, 20_000, churn), self.rng.uniform(0, 30, churn)])])
            self.speed = np.concatenate([self.speed[keep], self.rng.uniform(-40, 40, churn)])

    def step(self, shuffle: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(tx_xy, tx_node, rx_xy, rx_node) of one step (rows shuffled or in id order)."""
        rsu_xy = np.array([[5000.0, 15.0], [12_000.0, 15.0]])
        rsu = np.array([10**6, 10**6 + 1], np.int64)
        v = self.rng.permutation(self.node.size) if shuffle else np.arange(self.node.size)
        tx_xy = np.vstack([self.xy[v], np.repeat(rsu_xy, self.rsu_messages, axis=0)])
        tx_node = np.concatenate([self.node[v], np.repeat(rsu, self.rsu_messages)])
        return tx_xy, tx_node, np.vstack([self.xy[v], rsu_xy]), np.concatenate([self.node[v],
                                                                                rsu])


@pytest.mark.parametrize("rsu_messages", [1, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_steps_match_find_pairs_through_moves_jumps_and_churn(shuffle: bool,
                                                              rsu_messages: int) -> None:
    road, nl = _Road(7, rsu_messages), NeighbourList(margin_m=60.0)
    assert 800 * 802 > DENSE_MAX_PAIRS
    for k in range(40):
        road.move(0.1, jump=(k == 12), churn=5 if k % 7 == 3 else 0)
        tx_xy, tx_node, rx_xy, rx_node = road.step(shuffle)
        want = find_pairs(tx_xy, rx_xy, 1000.0, tx_node=tx_node, rx_node=rx_node)
        got = nl.find(tx_xy, rx_xy, 1000.0, tx_node=tx_node, rx_node=rx_node)
        assert len(want) > 0
        _same(want, got)
    # reused between rebuilds (the jump forces one; 4 m a step at most: a 60 m margin
    # lasts about 7 steps)
    assert 2 <= nl.rebuilds < 20


def test_windows_of_steps_as_groups_match_find_pairs() -> None:
    road, nl = _Road(3), NeighbourList()
    for _ in range(6):
        parts = []
        for s in range(3):  # a window of three steps
            road.move(0.1, churn=2)
            parts.append((*road.step(shuffle=False), s))
        tx_xy = np.vstack([p[0] for p in parts])
        tx_node = np.concatenate([p[1] for p in parts])
        rx_xy = np.vstack([p[2] for p in parts])
        rx_node = np.concatenate([p[3] for p in parts])
        tx_g = np.concatenate([np.full(p[1].size, p[4]) for p in parts])
        rx_g = np.concatenate([np.full(p[3].size, p[4]) for p in parts])
        kw = {"tx_node": tx_node, "rx_node": rx_node, "tx_group": tx_g, "rx_group": rx_g}
        _same(find_pairs(tx_xy, rx_xy, 1000.0, **kw), nl.find(tx_xy, rx_xy, 1000.0, **kw))
        # groups out of order: as find_pairs (no list)
        back = {"tx_node": tx_node, "rx_node": rx_node, "tx_group": 2 - tx_g,
                "rx_group": 2 - rx_g}
        _same(find_pairs(tx_xy, rx_xy, 1000.0, **back), nl.find(tx_xy, rx_xy, 1000.0, **back))
        # infinite range; receivers of one step only (the others' senders hear nobody)
        _same(find_pairs(tx_xy, rx_xy, np.inf, **kw), nl.find(tx_xy, rx_xy, np.inf, **kw))
        one = {**kw, "rx_group": np.full(rx_g.size, 1)}
        _same(find_pairs(tx_xy, rx_xy, 1000.0, **one), nl.find(tx_xy, rx_xy, 1000.0, **one))
        none = {**kw, "rx_group": np.full(rx_g.size, 7)}
        assert len(nl.find(tx_xy, rx_xy, 1000.0, **none)) == 0
    small = {"tx_node": np.arange(10), "rx_node": np.arange(10),
             "tx_group": np.repeat([0, 1], 5), "rx_group": np.repeat([0, 1], 5)}
    xy = np.arange(20.0).reshape(10, 2)
    _same(find_pairs(xy, xy, 5.0, **small), nl.find(xy, xy, 5.0, **small))


def test_a_node_receiving_twice_a_new_range_and_dense_cases_match_find_pairs() -> None:
    road, nl = _Road(11), NeighbourList()
    tx_xy, tx_node, rx_xy, rx_node = road.step(shuffle=True)
    for r in (1000.0, 400.0, 30_000.0, 30_000.0, np.inf):  # new range: reset; all in range:
        # the list is built, then found to hold more than a third of the combinations
        _same(find_pairs(tx_xy, rx_xy, r, tx_node=tx_node, rx_node=rx_node),
              nl.find(tx_xy, rx_xy, r, tx_node=tx_node, rx_node=rx_node))
    twice = rx_node.copy()
    twice[5] = twice[6]  # one node at two receiver rows
    _same(find_pairs(tx_xy, rx_xy, 1000.0, tx_node=tx_node, rx_node=twice),
          nl.find(tx_xy, rx_xy, 1000.0, tx_node=tx_node, rx_node=twice))
    small = slice(0, 100)  # few combinations: the dense blocks
    _same(find_pairs(tx_xy[small], rx_xy[small], 1000.0, tx_node=tx_node[small],
                     rx_node=rx_node[small]),
          nl.find(tx_xy[small], rx_xy[small], 1000.0, tx_node=tx_node[small],
                  rx_node=rx_node[small]))
    assert len(nl.find(tx_xy[:0], rx_xy, 1000.0, tx_node=tx_node[:0], rx_node=rx_node)) == 0


def test_bad_margin_and_arguments_raise() -> None:
    with pytest.raises(ValueError, match="margin_m"):
        NeighbourList(margin_m=0.0)
    with pytest.raises(ValueError, match="tx_group"):
        NeighbourList().find(np.zeros((1, 2)), np.zeros((1, 2)), 10.0, tx_node=np.zeros(1),
                             rx_node=np.ones(1), tx_group=np.zeros(1))


def test_crowded_steps_go_without_a_list_then_spread_steps_with_one() -> None:
    road, nl = _Road(5, rsu_messages=1), NeighbourList()
    tx_xy, tx_node, rx_xy, rx_node = road.step(shuffle=False)
    crowd_tx, crowd_rx = tx_xy * 0.01, rx_xy * 0.01  # all within 200 m of each other
    builds = []
    for txy, rxy in [(crowd_tx, crowd_rx)] * 3 + [(tx_xy, rx_xy)] * 3 + [(crowd_tx,
                                                                           crowd_rx)] * 2:
        _same(find_pairs(txy, rxy, 1000.0, tx_node=tx_node, rx_node=rx_node),
              nl.find(txy, rxy, 1000.0, tx_node=tx_node, rx_node=rx_node))
        builds.append(nl.rebuilds)
    # the first step and the crowded ones without a list; built once spread out (the
    # step after the first spread one, whose links decide); crowded again, the nodes have
    # moved beyond the margin: rebuilt, found too full for a list and dropped
    assert builds == [0, 0, 0, 0, 1, 1, 2, 2]
    assert nl._ids.size == 0
