"""Online aggregates that keep the delivery KPIs exact without storing every reception.

* :class:`PrrBins` counts, per message type and distance bin, the candidate (transmission,
  receiver) pairs and how many decoded the packet (3GPP TR 37.885 PRR definition).
* :class:`Histogram` counts latencies (or gaps) in fixed-width bins per message type.
* :class:`PairClock` remembers, per (receiver, sender) pair and message type, when the last
  packet was received, to produce inter-packet gaps; the pairs of nodes that have left are
  dropped, so memory grows with the pairs present at once, not with all the pairs of a run.

All updates are vectorized over the links of one step or of a window of steps.
"""

from __future__ import annotations

import numpy as np

from v2x.msgset import MSG_TYPES

__all__ = ["MSG_TYPES", "Histogram", "PairClock", "PrrBins"]

#: links counted together (temporaries of 512 kB each stay in cache)
_BLOCK = 65_536
#: bits of a message type code in a PairClock sort key
_TYPE_BITS = max(1, (len(MSG_TYPES) - 1).bit_length())
#: bits of a node id in a PairClock key
_NODE_BITS = 21



class PrrBins:
    """Per message type and distance bin: candidate pairs and decoded pairs.

    Args:
        bin_m: bin width [m] (TR 37.885 reports 20 m bins).
        max_m: largest distance counted [m]; links beyond are ignored.
    """

    def __init__(self, bin_m: float, max_m: float) -> None:
        self.bin_m = float(bin_m)
        self.max_m = float(max_m)
        self.n_bins = int(np.ceil(max_m / bin_m))
        self.pairs = np.zeros((len(MSG_TYPES), self.n_bins), np.int64)
        self.received = np.zeros((len(MSG_TYPES), self.n_bins), np.int64)

    def add(self, msg_type: np.ndarray, distance_m: np.ndarray, received: np.ndarray) -> None:
        """Count links: msg_type (m,) int8 code, distance_m (m,) [m], received (m,) bool.

        Counted in blocks of :data:`_BLOCK` links (temporaries in cache: 9.6 -> 5.4 ns a link
        at 5 M links); links beyond ``max_m`` go to one more bin per type, dropped at the end
        (a clip instead of a max and a filter: 1.9 -> 1.3 ms at 240,000 links)."""
        if msg_type.size == 0:
            return
        n_cells = self.n_bins + 1  # the distance bins and the bin beyond max_m
        counts = np.zeros(len(MSG_TYPES) * n_cells * 2, np.int64)
        for a in range(0, msg_type.size, _BLOCK):
            sl = slice(a, a + _BLOCK)
            b = (distance_m[sl] / self.bin_m).astype(np.int64)  # >= 0: truncation = floor
            np.minimum(b, self.n_bins, out=b)
            # one count of (type, bin, received) cells: column 0 lost, column 1 received
            cell = msg_type[sl].astype(np.int64)
            cell *= n_cells
            cell += b
            cell *= 2
            cell += received[sl]
            counts += np.bincount(cell, minlength=counts.size)
        by_cell = counts.reshape(len(MSG_TYPES), n_cells, 2)[:, :-1]
        self.pairs += by_cell[..., 0] + by_cell[..., 1]
        self.received += by_cell[..., 1]

    def table(self) -> dict[str, np.ndarray]:
        """Rows with any pair: msg_type, bin_lo_m, bin_hi_m, n_pairs, n_received."""
        t, b = np.nonzero(self.pairs)
        return {"msg_type": np.array([MSG_TYPES[i] for i in t], dtype=object),
                "bin_lo_m": b * self.bin_m, "bin_hi_m": (b + 1) * self.bin_m,
                "n_pairs": self.pairs[t, b], "n_received": self.received[t, b]}


class Histogram:
    """Fixed-width histogram per message type of non-negative integer nanoseconds.

    Values at or above ``max_ns`` go to one overflow bin whose upper edge is the largest value
    seen, so the maximum stays exact.
    """

    def __init__(self, bin_ns: int, max_ns: int) -> None:
        self.bin_ns = int(bin_ns)
        self.n_bins = int(max_ns // bin_ns)
        self.counts = np.zeros((len(MSG_TYPES), self.n_bins + 1), np.int64)
        self.max_seen = np.zeros(len(MSG_TYPES), np.int64)

    def add(self, msg_type: np.ndarray, value_ns: np.ndarray) -> None:
        """Count values: msg_type (m,) int8 code, value_ns (m,) int64 [ns] >= 0."""
        if value_ns.size == 0:
            return
        b = np.minimum(value_ns // self.bin_ns, self.n_bins)
        flat = msg_type.astype(np.int64) * (self.n_bins + 1) + b
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)
        over = np.flatnonzero(b == self.n_bins)  # only the overflow bin needs the exact max
        if over.size:
            np.maximum.at(self.max_seen, msg_type[over].astype(np.int64), value_ns[over])

    def table(self) -> dict[str, np.ndarray]:
        """Non-empty bins: msg_type, bin_lo_ns, bin_hi_ns, count."""
        t, b = np.nonzero(self.counts)
        lo = b * self.bin_ns
        hi = np.where(b < self.n_bins, (b + 1) * self.bin_ns,
                      np.maximum(self.max_seen[t] + 1, (b + 1) * self.bin_ns))
        return {"msg_type": np.array([MSG_TYPES[i] for i in t], dtype=object),
                "bin_lo_ns": lo.astype(np.int64), "bin_hi_ns": hi.astype(np.int64),
                "count": self.counts[t, b]}


class PairClock:
    """Last reception time per (sender, message type, receiver), for inter-packet gaps.

    The times are kept for the pairs that have received something, in a table sorted by one
    int64 key per pair: ``sender node << 24 | type << 21 | receiver node`` (node ids below
    :data:`MAX_NODE`). The loop's links come in (step, sender row, receiver row) order and
    its rows in node order, so a step's keys arrive sorted but for a few RSU messages: one
    stable sort (timsort: runs) puts a window in (pair, step) order; this replaced per-node
    slots and a radix sort of slot keys: the same gaps, and in a run's loop (thread CPU of
    this method) 0.84 -> 0.45 s a step at 10,000 vehicles (windows of one step: no sort at
    all), but 0.30 -> 0.38 s for all of ``xiqing-south-station`` (windows of 20 steps: the
    timsort of 20 runs costs a little more than two radix passes over compact slot keys did).
    Pairs of nodes that have left are dropped in
    batches (:meth:`release`), so memory grows with the pairs in range that hear each other,
    not with every pair of a run (a dense ``(types, nodes, nodes)`` table was 10.7 GB at
    10,000 nodes).
    """

    #: node ids must be below this (21 bits: vehicles below 1,000,000, RSUs from 1,000,000)
    MAX_NODE = 1 << _NODE_BITS

    def __init__(self) -> None:
        self._keys = np.empty(0, np.int64)  # sorted (tx << 24) | (type << 21) | rx
        self._times = np.empty(0, np.int64)  # last reception time of each key [ns]
        self._present = np.empty(0, np.int64)  # the nodes of the last release(), sorted
        self._gone: list[np.ndarray] = []  # nodes that left, whose pairs are not dropped yet
        self._n_gone = 0

    def __len__(self) -> int:
        """Pairs (with their message type) whose last reception is remembered (those of
        nodes that left until the next drop)."""
        return int(self._keys.size)

    def release(self, present: np.ndarray, seen: np.ndarray | None = None) -> None:
        """Say which nodes are present now (n,) int64, and which were since the last call
        (``seen`` (k,) int64, e.g. every vehicle of a window; None: none but those present
        then); the pairs of the nodes that have left are forgotten. They are dropped for many
        nodes at once (once the nodes that left since the last drop reach 1/16 of those
        present, at least 16): a pass over every stored pair per window was the clock's
        largest cost at 10,000 vehicles. Node ids are never reused, so a pair waiting to be
        dropped never meets a new one."""
        now = np.unique(np.asarray(present, np.int64))
        before = self._present if seen is None else np.union1d(self._present, seen)
        gone = np.setdiff1d(before, now, assume_unique=True)
        self._present = now
        if gone.size:
            self._gone.append(gone)
            self._n_gone += gone.size
        if self._n_gone >= max(16, now.size // 16):
            self._drop_gone()

    def _drop_gone(self) -> None:
        """Drop the pairs of the nodes that left."""
        gone = np.concatenate(self._gone)
        self._gone, self._n_gone = [], 0
        if not self._keys.size:
            return
        left = np.zeros(self.MAX_NODE, bool)  # 2 MB, once per batch of nodes that left
        left[gone] = True
        drop = left[self._keys >> (_TYPE_BITS + _NODE_BITS)]
        drop |= left[self._keys & (self.MAX_NODE - 1)]
        if drop.any():
            keep = ~drop
            self._keys, self._times = self._keys[keep], self._times[keep]

    def update(self, msg_type: np.ndarray, rx_node: np.ndarray, tx_node: np.ndarray,
               t_ns: np.ndarray, step: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Record receptions; return (msg_type, gap_ns) of those with an earlier reception,
        in the order of the input.

        All arrays (m,): ``msg_type`` int8 code, ``rx_node`` / ``tx_node`` int64 node ids
        (below :data:`MAX_NODE`), ``t_ns`` int64 reception times [ns]. Without ``step``, at
        most one reception per (tx, type, rx) in one call. With ``step`` (m,) int64,
        non-decreasing (the steps of a window, links in step order), at most one per pair
        and step: the steps are taken in order, each gap measured from the pair's reception
        one or more steps before. Raises ValueError when ``step`` decreases or a node id is
        negative or not below :data:`MAX_NODE`.
        """
        if step is not None and np.any(step[1:] < step[:-1]):
            raise ValueError("step must be non-decreasing (links in step order)")
        key = self._keys_of(msg_type, rx_node, tx_node)
        prev = np.full(key.size, -1, np.int64)
        if key.size == 0:
            return msg_type[:0], prev
        # receptions of one pair in the window in step order: each one's previous time is the
        # one before it in the run, the run's first one's is the stored time
        in_order = bool(np.all(key[1:] > key[:-1]))  # one step, keys in order: no sort
        o = None if in_order else np.argsort(key, kind="stable")
        c, t = (key, t_ns) if o is None else (key[o], t_ns[o])
        one_step = step is None or step[0] == step[-1]
        if one_step:  # every pair once: each is its run's first and last
            uc, latest = c, t
        else:
            first = np.ones(c.size, bool)
            first[1:] = c[1:] != c[:-1]
            last = np.ones(c.size, bool)
            last[:-1] = first[1:]
            uc, latest = c[first], t[last]
        at = np.searchsorted(self._keys, uc)
        if self._keys.size:
            near = np.minimum(at, self._keys.size - 1)
            known = self._keys.take(near) == uc
            stored = np.where(known, self._times.take(near), -1)
        else:
            known = np.zeros(uc.size, bool)
            stored = np.full(uc.size, -1, np.int64)
        if one_step:
            before = stored
        else:
            before = np.empty(c.size, np.int64)
            before[1:] = t[:-1]
            before[first] = stored
        if o is None:
            prev = before
        else:
            prev[o] = before
        # the store: the known pairs take their latest time, new pairs are merged in
        self._times[at[known]] = latest[known]
        new = ~known
        if new.any():
            self._keys = np.insert(self._keys, at[new], uc[new])
            self._times = np.insert(self._times, at[new], latest[new])
        had = prev >= 0
        return msg_type[had], (t_ns - prev)[had]

    def _keys_of(self, msg_type: np.ndarray, rx_node: np.ndarray,
                 tx_node: np.ndarray) -> np.ndarray:
        """(m,) int64 pair keys; raises ValueError for a node id outside [0, MAX_NODE)."""
        for name, nodes in (("rx_node", rx_node), ("tx_node", tx_node)):
            if nodes.size and (int(nodes.min()) < 0 or int(nodes.max()) >= self.MAX_NODE):
                raise ValueError(f"{name} ids must be in [0, {self.MAX_NODE}), got "
                                 f"{int(nodes.min())}..{int(nodes.max())}")
        key = tx_node.astype(np.int64) << (_TYPE_BITS + _NODE_BITS)
        key |= msg_type.astype(np.int64) << _NODE_BITS
        key |= rx_node
        return key
