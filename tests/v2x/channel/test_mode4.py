"""LTE-V2X Mode 4: half duplex, SINR, reselection counter and keep probability, CBR, sensing
exclusion and threshold raising -- each against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from v2x.channel import LinkBatch, Mode4Channel, ScheduledChannel, _sps, make_channel
from v2x.channel._sps import (
    _nth_by_key_then_tie,
    cell_busy_ratio,
    cell_interference,
    cell_power,
    channel_busy_ratio,
    draw_reselection_counter,
    half_duplex_lost,
    interference_mw,
    select_resources,
)
from v2x.errors import ConfigError


def _run_period(ch: Mode4Channel, links: LinkBatch, n: int, k: int, rng: np.random.Generator,
                size: int = 190):
    nodes = np.arange(n, dtype=np.int64)
    return ch.evaluate_scheduled(
        links, tx_t_ns=np.full(n, k * ch.rri * 1_000_000), tx_node=nodes,
        tx_msg_type=np.zeros(n, np.int64), rx_node=nodes, tx_height_m=np.full(n, 1.5),
        rx_height_m=np.full(n, 1.5), size_bytes=np.full(n, size), rng=rng)


# --- half duplex ----------------------------------------------------------------------------

def test_half_duplex_function() -> None:
    # receiver 1 transmits in subframe 10, receiver 3 in 12 (a sender that is no receiver,
    # -1, in 11): receiver 1 cannot hear subframe 10, receiver 3 not subframe 12
    lost = half_duplex_lost(np.array([1, 2, 3, 3]), np.array([10, 10, 11, 12]),
                            np.array([1, 3, -1]), np.array([10, 12, 11]))
    assert lost.tolist() == [True, False, False, True]


def test_half_duplex_from_per_transmission_subframes() -> None:
    # the model's half duplex reads each link's subframe through its transmission: the same
    # as half_duplex_lost by hand. Receiver rows 0..2 are nodes 7, 8, 9; transmissions T0..T4
    # of nodes 7 (subframe 10), 9 (12), 5 (11, no receiver), 8 (13, not sent), 8 (12).
    # Links T0 -> row 1, T1 -> row 0, T2 -> rows 0 and 2, T1 -> row 1: row 1 (node 8) sends
    # T4 in subframe 12, so it cannot hear T1 (12); nothing else collides with a row's own
    # sent subframe (row 0: 10, row 2: 12).
    row_node = np.array([7, 8, 9])
    node, tx_sf = np.array([7, 9, 5, 8, 8]), np.array([10, 12, 11, 13, 12])
    sent = np.array([True, True, True, False, True])
    l_tx, rr = np.array([0, 1, 2, 2, 1]), np.array([1, 0, 0, 2, 1])
    lost = Mode4Channel._half_duplex(rr, l_tx, row_node, node, tx_sf, sent)
    assert lost.tolist() == [False, False, False, False, True]
    want = half_duplex_lost(rr, tx_sf[l_tx], np.array([0, 2, -1, 1]), tx_sf[sent])
    assert np.array_equal(lost, want)


def test_half_duplex_in_the_model() -> None:
    # two vehicles 10 m apart, one sub-channel (1.4 MHz = 6 RBs), window of 2 subframes
    # (T1 1 ms, T2 2 ms): without sensing history both pick one of the 2 subframes at
    # random; 10 m with no shadowing is far above every threshold (WINNER+ B1 65 dB:
    # P = 23 + 6 - 65 = -36 dBm, SINR ~ 70 dB, PER 0), so a link is lost exactly when both
    # chose the same subframe (half duplex), and then both links are.
    links = LinkBatch(np.array([0, 1]), np.array([1, 0]), np.array([10.0, 10.0]))
    same = differ = 0
    for seed in range(40):
        ch = Mode4Channel(bandwidth_mhz=1.4, subchannel_rb=6, rri="20 ms",
                          selection_t2="2 ms", shadowing_db=0.0, congestion=False)
        r = _run_period(ch, links, 2, 0, np.random.default_rng(seed))
        if ch._offset[0] == ch._offset[1]:
            same += 1
            assert r.received.tolist() == [False, False]
            assert np.isnan(r.snr_db).all()  # neither receiver listened: no SINR
        else:
            differ += 1
            assert r.received.tolist() == [True, True]
            assert r.snr_db.min() > 60
    assert same > 5 and differ > 5  # both cases seen (each has probability 1/2)


# --- SINR -----------------------------------------------------------------------------------

def test_two_transmitters_on_one_resource() -> None:
    # receiver 0 hears A at 1e-6 mW (-60 dBm) and B at 1e-7 mW (-70 dBm) in subframe 5 on
    # sub-channel 0: each is the other's interference; a third transmission on sub-channel
    # 1 and one in subframe 6 do not interfere; C on sub-channels 0-1 (2e-7 mW) adds half
    # its power to a wanted signal on sub-channel 1 only.
    rx = np.array([0, 0, 0, 0, 1, 1])
    sf = np.array([5, 5, 5, 6, 5, 5])
    start = np.array([0, 0, 1, 0, 1, 0])
    n_sub = np.array([1, 1, 1, 1, 1, 2])
    p = np.array([1e-6, 1e-7, 1e-5, 1e-5, 1e-6, 2e-7])
    i = interference_mw(rx, sf, start, n_sub, p)
    np.testing.assert_allclose(i, [1e-7, 1e-6, 0.0, 0.0, 1e-7, 1e-6], rtol=1e-12, atol=1e-22)
    # SINR of A with the noise over 10 data RBs of 10 MHz, NF 9 dB:
    # N = -174 + 70 + 9 - 10 log10(50 / 10) = -101.99 dBm = 6.3246e-11 mW
    # SINR = 10 log10(1e-6 / (1e-7 + 6.3246e-11)) = 9.9973 dB
    ch = Mode4Channel(bandwidth_mhz=10, subchannel_rb=12)
    noise = ch.data_noise_mw(np.array([1]))[0]
    assert 10 * math.log10(noise) == pytest.approx(-101.9897, abs=1e-4)
    assert 10 * math.log10(p[0] / (i[0] + noise)) == pytest.approx(9.9973, abs=1e-4)


def test_two_subchannel_transmissions_overlapping() -> None:
    # one receiver, one subframe, 4 sub-channels; every link 2 sub-channels wide (the
    # (m, 2) block path): A on 0-1 at 2e-6 mW (1e-6 a sub-channel), B on 0-1 at 4e-7
    # (2e-7), C on 1-2 at 1e-6 (5e-7). Interference summed over the wanted sub-channels:
    #   A: sub 0 B 2e-7 + sub 1 (B 2e-7 + C 5e-7)   = 9e-7
    #   B: sub 0 A 1e-6 + sub 1 (A 1e-6 + C 5e-7)   = 2.5e-6
    #   C: sub 1 (A 1e-6 + B 2e-7) + sub 2 nothing  = 1.2e-6
    rx, sf = np.zeros(3, np.int64), np.full(3, 7)
    start, n_sub = np.array([0, 0, 1]), np.full(3, 2)
    p = np.array([2e-6, 4e-7, 1e-6])
    i = interference_mw(rx, sf, start, n_sub, p, n_subchannels=4)
    np.testing.assert_allclose(i, [9e-7, 2.5e-6, 1.2e-6], rtol=1e-12)
    cells = cell_power(rx, sf, start, n_sub, p, 4)
    assert cells.width == 2
    # only the links asked for: the same values, every link still interfering
    np.testing.assert_allclose(interference_mw(rx, sf, start, n_sub, p, cells=cells,
                                               wanted=np.array([2, 0])), [1.2e-6, 9e-7],
                               rtol=1e-12)


def test_dense_and_sorted_cell_tables_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same links through the dense (receivers x subframes x sub-channels) table and the
    # sorted occupied cells (used beyond DENSE_MAX_CELLS) give the same sums
    rng = np.random.default_rng(4)
    m = 400
    rx, sf = rng.integers(0, 30, m), rng.integers(100, 130, m)
    n_sub = rng.integers(1, 3, m)
    start = rng.integers(0, 3, m)
    p = 10 ** (rng.uniform(-110, -60, m) / 10)
    kw = dict(noise_subchannel_mw=1e-10, threshold_dbm=-94.0, n_subchannels=4,
              window_subframes=100)
    dense = (interference_mw(rx, sf, start, n_sub, p, n_subchannels=4),
             channel_busy_ratio(rx, sf, start, n_sub, p, **kw))
    monkeypatch.setattr(_sps, "DENSE_MAX_CELLS", 0)
    assert cell_power(rx, sf, start, n_sub, p, 4).cell_rx is not None
    sparse = (interference_mw(rx, sf, start, n_sub, p, n_subchannels=4),
              channel_busy_ratio(rx, sf, start, n_sub, p, **kw))
    np.testing.assert_allclose(dense[0], sparse[0], rtol=1e-12)
    assert np.array_equal(dense[1][0], sparse[1][0])
    assert np.array_equal(dense[1][1], sparse[1][1])


def test_cell_table_from_per_transmission_values() -> None:
    # transmissions T0..T4 (subframe, first sub-channel): T0 (5, 0), T1 (5, 0), T2 (5, 1),
    # T3 (6, 0) and T4 (9, 0) without links (its subframe does not widen the table); links
    # by transmission: T0 -> rx 0 at 1e-6 mW and -> rx 1 at 4e-7, T1 -> rx 0 at 1e-7,
    # T2 -> rx 0 at 1e-5 and -> rx 1 at 2e-6, T3 -> rx 0 at 1e-5. Interference: T0 and T1
    # at rx 0 are each other's (1e-7, 1e-6); every other link is alone in its cell (0).
    sf, start = np.array([5, 5, 5, 6, 9]), np.array([0, 0, 1, 0, 0])
    n_sub = np.ones(5, np.int64)
    link_tx, rx = np.array([0, 0, 1, 2, 2, 3]), np.array([0, 1, 0, 0, 1, 0])
    p = np.array([1e-6, 4e-7, 1e-7, 1e-5, 2e-6, 1e-5])
    cells = cell_power(rx, sf, start, n_sub, p, 4, link_tx=link_tx)
    assert cells.width == 1 and cells.total.size == 2 * 2 * 4  # subframes 5-6 x 2 rx x 4
    np.testing.assert_allclose(cell_interference(cells), [1e-7, 0, 1e-6, 0, 0, 0],
                               rtol=1e-12, atol=1e-22)
    np.testing.assert_allclose(cell_interference(cells, np.array([2, 0])), [1e-6, 1e-7],
                               rtol=1e-12)
    # the same table as from the per-link values
    per_link = cell_power(rx, sf[link_tx], start[link_tx], n_sub[link_tx], p, 4)
    assert np.array_equal(cells.key, per_link.key)
    assert np.array_equal(cells.total, per_link.total)
    # CBR with a -94 dBm threshold (3.98e-10 mW) and no noise over 10 subframes x 4
    # sub-channels: rx 0 has 3 busy cells (5/0, 5/1, 6/0), rx 1 two (5/0, 5/1)
    nodes, cbr = cell_busy_ratio(cells, rx, noise_subchannel_mw=0.0, threshold_dbm=-94.0,
                                 window_subframes=10)
    assert nodes.tolist() == [0, 1]
    np.testing.assert_allclose(cbr, [3 / 40, 2 / 40])


def test_cell_table_summed_in_scratch() -> None:
    # the dense table summed into a zeroed scratch array: a view of it with the bincount's
    # bits (one receiver, subframe 5, sub-channel 0: 1e-6 + 1e-7 = 1.1e-6 mW in cell 0);
    # a scratch too small for the table is not used
    rx, sf, start, n_sub = (np.zeros(3, np.int64), np.array([5, 5, 6]), np.zeros(3, np.int64),
                            np.ones(3, np.int64))
    p = np.array([1e-6, 1e-7, 3e-7])
    scratch = np.zeros(16)
    cells = cell_power(rx, sf, start, n_sub, p, 4, scratch=scratch)
    assert cells.total.base is scratch and cells.total.size == 8  # 2 subframes x 4
    assert cells.total[0] == 1e-6 + 1e-7 and cells.total[4] == 3e-7
    assert np.array_equal(cells.total, cell_power(rx, sf, start, n_sub, p, 4).total)
    tiny = np.zeros(7)
    small = cell_power(rx, sf, start, n_sub, p, 4, scratch=tiny)
    assert not np.shares_memory(small.total, tiny) and not tiny.any()
    assert np.array_equal(small.total, cells.total)


def test_cell_table_per_transmission_of_mixed_widths_equals_per_link() -> None:
    # links of transmissions of 1 and 2 sub-channels (the expanded path), dense and sorted
    rng = np.random.default_rng(5)
    k, m = 40, 300
    sf, start = rng.integers(100, 130, k), rng.integers(0, 3, k)
    n_sub = rng.integers(1, 3, k)
    link_tx = np.sort(rng.integers(0, k, m))
    rx = rng.integers(3, 30, m)
    p = 10 ** (rng.uniform(-110, -60, m) / 10)
    a = cell_power(rx, sf, start, n_sub, p, 4, link_tx=link_tx)
    b = cell_power(rx, sf[link_tx], start[link_tx], n_sub[link_tx], p, 4)
    assert a.width == 0 and np.array_equal(a.key, b.key) and np.array_equal(a.total, b.total)
    assert np.array_equal(cell_interference(a), cell_interference(b))


def test_packet_size_sets_the_subchannels() -> None:
    ch = Mode4Channel(bandwidth_mhz=10, subchannel_rb=12, security_overhead_bytes=0)
    # 190 B: (1520 + 24) / 154.4 = 10 data RBs + 2 SCI = 12 RBs = 1 sub-channel;
    # 300 B: 2424 / 154.4 = 15.7 -> 16 + 2 = 18 RBs = 2 sub-channels
    assert ch.subchannels_needed(np.array([190, 300])).tolist() == [1, 2]
    # + 72 B security: 262 B -> 2120 / 154.4 = 13.7 -> 14 + 2 = 16 RBs -> 2 sub-channels
    signed = Mode4Channel(bandwidth_mhz=10, subchannel_rb=12)
    assert signed.subchannels_needed(np.array([190])).tolist() == [2]


# --- reselection counter and keep probability -----------------------------------------------

def test_reselection_counter_distribution() -> None:
    rng = np.random.default_rng(3)
    c = draw_reselection_counter(rng, 110_000, 100)
    # uniform on 5..15: 11 values of probability 1/11 = 0.0909 (sd of a share 0.0009)
    share = np.bincount(c, minlength=16)[5:] / c.size
    assert c.min() == 5 and c.max() == 15 and share.size == 11
    np.testing.assert_allclose(share, 1 / 11, atol=0.004)
    assert (draw_reselection_counter(rng, 1000, 50).min(),
            draw_reselection_counter(rng, 1000, 50).max()) == (10, 30)
    c20 = draw_reselection_counter(rng, 5000, 20)
    assert c20.min() == 25 and c20.max() == 75


def test_keep_probability() -> None:
    # 300 isolated vehicles (no links), keep probability 0.8: when a counter has run out,
    # the reservation is kept with probability 0.8 (a reselection always moves: the old
    # subframe was not monitored, so it is excluded). ~300 * 60 / 10 = 1800 expiries:
    # sd of the kept share sqrt(0.16 / 1800) = 0.009.
    n = 300
    ch = Mode4Channel(keep_probability=0.8, congestion=False)
    rng = np.random.default_rng(5)
    empty = LinkBatch.empty()
    _run_period(ch, empty, n, 0, rng)
    kept = expired = 0
    for k in range(1, 61):
        due = ch._counter == 0
        before = ch._offset.copy()
        _run_period(ch, empty, n, k, rng)
        expired += int(due.sum())
        kept += int((ch._offset[due] == before[due]).sum())
        renewed = ch._counter[due]  # drawn in 5..15, minus this period's transmission
        assert np.all((renewed >= 4) & (renewed <= 14))
    assert expired > 1500
    assert kept / expired == pytest.approx(0.8, abs=0.03)


# --- CBR ------------------------------------------------------------------------------------

def test_cbr_of_a_hand_built_pool() -> None:
    # 10 MHz, 4 sub-channels of 12 RBs, window 10 subframes = 40 sub-channel slots.
    # Noise per sub-channel -95 + 10 log10(12 / 50) = -101.2 dBm. Receiver 7 hears:
    #   subframe 0, sub-channel 0 at -80 dBm                      -> busy
    #   subframe 0, sub-channel 1 at -100 dBm: + noise -97.5 dBm  -> idle (< -94)
    #   subframe 1, sub-channels 0-1 at -88 dBm: -91 dBm on each  -> 2 busy
    # CBR = 3 / 40 = 0.075
    dbm = np.array([-80.0, -100.0, -88.0])
    nodes, cbr = channel_busy_ratio(
        np.array([7, 7, 7]), np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1, 1, 2]),
        10 ** (dbm / 10), noise_subchannel_mw=10 ** ((-95 + 10 * math.log10(12 / 50)) / 10),
        threshold_dbm=-94.0, n_subchannels=4, window_subframes=10)
    assert nodes.tolist() == [7]
    assert cbr[0] == pytest.approx(0.075)


# --- sensing: exclusion and threshold raising ------------------------------------------------

def test_exclusion_and_threshold_raising() -> None:
    # 10 candidates, 20 % = 2 must remain. Start threshold -90 dBm: every candidate has a
    # reservation above it. The 2nd smallest RSRP is -86 dBm: ceil((-86 + 90) / 3) = 2 raises
    # -> -84 dBm; candidates 4..7 (-84..-87 dBm) remain. Step 3 keeps the 2 of lowest
    # S-RSSI among them: 5 (1) and 7 (2).
    rsrp = np.array([[-80.0, -81, -82, -83, -84, -85, -86, -87, -70, -71]])
    rssi = np.array([[0.1, 0.1, 0.1, 0.1, 5, 1, 3, 2, 0.1, 0.1]])
    blocked = np.zeros((1, 10), bool)
    chosen = set()
    for seed in range(30):
        c, th = select_resources(rsrp, rssi, blocked, threshold_dbm=-90.0, step_db=3.0,
                                 share=0.2, rng=np.random.default_rng(seed))
        assert th[0] == -84.0
        chosen.add(int(c[0]))
    assert chosen == {5, 7}
    # candidate 7 not monitored: the 2nd smallest is now -85 -> still 2 raises; best 2 of
    # 4, 5, 6 by S-RSSI: 5 (1) and 6 (3)
    blocked[0, 7] = True
    chosen = {int(select_resources(rsrp, rssi, blocked, threshold_dbm=-90.0, step_db=3.0,
                                   share=0.2, rng=np.random.default_rng(s))[0][0])
              for s in range(30)}
    assert chosen == {5, 6}


def test_nth_candidate_by_s_rssi_then_tie() -> None:
    # by (key, tie): column 2 (1, 0.2), column 1 (1, 0.9), column 3 (2, ...), column 0 (3)
    key = np.array([[3.0, 1.0, 1.0, 2.0]] * 4)
    tie = np.array([[0.1, 0.9, 0.2, 0.5]] * 4)
    got = _nth_by_key_then_tie(key, tie, np.array([0, 1, 2, 3]), 4)
    assert got.tolist() == [2, 1, 3, 0]
    # as np.lexsort((tie, key)) on rows with many equal keys (and inf: unavailable)
    rng = np.random.default_rng(2)
    key = rng.integers(0, 4, (50, 40)).astype(float)
    key[key == 3] = np.inf
    tie = rng.random((50, 40))
    col = rng.integers(0, 8, 50)
    want = np.lexsort((tie, key), axis=1)[np.arange(50), col]
    assert np.array_equal(_nth_by_key_then_tie(key, tie, col, 8), want)


def test_free_candidates_need_no_raising() -> None:
    # 3 of 10 candidates free (-inf): the threshold stays; the 2 best of the free ones by
    # S-RSSI (indices 2 and 9) are the only choices
    rsrp = np.full((1, 10), -50.0)
    rsrp[0, [2, 5, 9]] = -np.inf
    rssi = np.ones((1, 10))
    rssi[0, 5] = 4.0
    picks = {int(select_resources(rsrp, rssi, np.zeros((1, 10), bool), threshold_dbm=-90.0,
                                  step_db=3.0, share=0.2, rng=np.random.default_rng(s))[0][0])
             for s in range(30)}
    assert picks == {2, 9}


def test_sensing_avoids_a_sensed_neighbour() -> None:
    # 2 vehicles 10 m apart, 1 sub-channel, window of 4 subframes (need 1 of 4), rri 20 ms.
    # Each senses the other at -36 dBm (>> -90.5) unless both sent in one subframe (half
    # duplex). The later of the two to reselect excludes the other's subframe and its own
    # (not monitored) and picks one of the 2 left, so after both have reselected (counters
    # 25..75: within 120 periods) they use different subframes and hear each other, unless
    # both reselected in the same period (unannounced: probability about 1/50 per run).
    links = LinkBatch(np.array([0, 1]), np.array([1, 0]), np.array([10.0, 10.0]))
    apart = 0
    for seed in range(10):
        ch = Mode4Channel(bandwidth_mhz=1.4, subchannel_rb=6, rri="20 ms",
                          selection_t2="4 ms", shadowing_db=0.0, congestion=False)
        rng = np.random.default_rng(seed)
        for k in range(120):
            r = _run_period(ch, links, 2, k, rng)
        if ch._offset[0] != ch._offset[1]:
            apart += 1
            assert r.received.all()
    assert apart >= 9


# --- wiring, determinism, parameters --------------------------------------------------------

def test_registered_and_deterministic() -> None:
    ch = make_channel("mode4", bandwidth_mhz=10)
    assert isinstance(ch, ScheduledChannel) and ch.name == "mode4"
    with pytest.raises(TypeError, match="evaluate_scheduled"):
        ch.evaluate(LinkBatch.empty(), tx_height_m=np.ones(0), rx_height_m=np.ones(0),
                    size_bytes=np.ones(0), rng=np.random.default_rng(0))
    x = np.arange(30) * 15.0
    i, j = np.nonzero(~np.eye(30, dtype=bool))
    links = LinkBatch(i.astype(np.int64), j.astype(np.int64), np.abs(x[i] - x[j]))
    out = []
    for _ in range(2):
        ch = make_channel("mode4", bandwidth_mhz=10)
        rng = np.random.default_rng(9)
        out.append(np.concatenate([_run_period(ch, links, 30, k, rng).received
                                   for k in range(5)]))
    assert np.array_equal(out[0], out[1])


@pytest.mark.parametrize("key, value", [
    ("bandwidth_mhz", 12.0), ("keep_probability", 0.9), ("rri", "30 ms"),
    ("selection_t2", "150 ms"), ("cbr_ranges", [0.5, 0.3]), ("cr_limits", [[0.1]]),
    ("priority_groups", {"BSM": 7}), ("path_loss", "okumura"), ("per_table", "64qam"),
])
def test_bad_parameters(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        make_channel("mode4", **{key: value})
    assert info.value.key == f"channel.{key}"


def test_congestion_control_drops_above_the_cr_limit() -> None:
    # one isolated vehicle, 20 MHz = 8 sub-channels of 12 RBs, 190 B + 72 B security = 2
    # sub-channels per packet every 100 ms; CR limit 0.001 in every CBR range.
    # CR = sub-channels used in the last 1000 ms, this packet included, / (1000 * 8):
    # periods 0..3: 2/8000, 4/8000, 6/8000, 8/8000 = 0.001 (<= limit: sent); period 4:
    # 10/8000 = 0.00125 > 0.001: dropped, and so until period 10, when period 0's
    # transmission is older than 1000 ms. (The counter, >= 5 and decremented per packet
    # sent, keeps the reservation's subframe through period 10.)
    ch = Mode4Channel(cr_limits=[[0.001, 0.001]], cbr_ranges=[0.5])
    rng = np.random.default_rng(0)
    for k in range(11):
        _run_period(ch, LinkBatch.empty(), 1, k, rng)
    load = ch.take_load()
    assert (~load.dropped).astype(int).tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    np.testing.assert_allclose(load.cr[:5], [0.00025, 0.0005, 0.00075, 0.001, 0.00125])
