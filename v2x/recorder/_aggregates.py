"""Online aggregates that keep the delivery KPIs exact without storing every reception.

* :class:`PrrBins` counts, per message type and distance bin, the candidate (transmission,
  receiver) pairs and how many decoded the packet (3GPP TR 37.885 PRR definition).
* :class:`Histogram` counts latencies (or gaps) in fixed-width bins per message type.
* :class:`PairClock` remembers, per (receiver, sender) pair and message type, when the last
  packet was received, to produce inter-packet gaps. Nodes get *slots* while they are present, so
  memory grows with the nodes present at once, not with all the nodes of a run.

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
    """Last reception time per (receiver, sender, message type), for inter-packet gaps.

    Nodes are mapped to dense slots while present (``slots``/``release``); the last times are
    kept only for the pairs that have received something (a sorted table of ``(type, rx slot,
    tx slot)`` keys with their times), so memory grows with the pairs in range that hear each
    other, not with the square of the nodes present (a dense ``(types, nodes, nodes)`` table
    was 10.7 GB at 10,000 nodes).
    """

    #: most bits of a slot in a key: at most 2**21 (2,097,152) nodes present at once
    SLOT_BITS = 21

    def __init__(self, capacity: int = 64) -> None:
        self._cap = capacity
        self._bits = _slot_bits(capacity)  # bits of a slot in the keys (as the slots need)
        self._keys = np.empty(0, np.int64)  # sorted (type << 2 bits) | (rx << bits) | tx
        self._times = np.empty(0, np.int64)  # last reception time of each key [ns]
        self._slot_of: dict[int, int] = {}
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._dead: list[int] = []  # released slots whose pairs are not dropped yet

    def __len__(self) -> int:
        """Pairs (with their message type) whose last reception is remembered (those of
        released nodes until the next :meth:`_compact`)."""
        return int(self._keys.size)

    def slots(self, nodes: np.ndarray) -> np.ndarray:
        """Slots of nodes (n,) int64, assigning free slots to new nodes."""
        out = np.empty(nodes.shape[0], np.int64)
        slot_of = self._slot_of
        for i, node in enumerate(nodes.tolist()):
            s = slot_of.get(node)
            if s is None:
                if not self._free:
                    if self._dead:
                        self._compact()
                    else:
                        self._grow()
                s = self._free.pop()
                slot_of[node] = s
            out[i] = s
        return out

    def release(self, present: np.ndarray) -> None:
        """Free the slots of nodes not in ``present`` (n,) and forget their times.

        A released node's slot is not reused before its pairs are dropped, which is done for
        many slots at once (:meth:`_compact`, when 1/16 of the slots wait or no slot is
        free): a pass over every stored pair per window was the clock's largest cost at
        10,000 vehicles."""
        keep = set(present.tolist())
        gone = [n for n in self._slot_of if n not in keep]
        self._dead.extend(self._slot_of.pop(n) for n in gone)
        if len(self._dead) * 16 >= self._cap:
            self._compact()

    def _compact(self) -> None:
        """Drop the pairs of released slots and make the slots free."""
        if not self._dead:
            return
        freed = np.array(self._dead, np.int64)
        self._dead = []
        if self._keys.size:
            b = self._bits
            mask = (1 << b) - 1
            dead = np.zeros(self._cap, bool)
            dead[freed] = True
            drop = dead[(self._keys >> b) & mask] | dead[self._keys & mask]
            if drop.any():
                self._keys, self._times = self._keys[~drop], self._times[~drop]
        self._free.extend(freed.tolist())

    def _grow(self) -> None:
        new = self._cap * 2
        if new > 1 << self.SLOT_BITS:
            raise ValueError(f"more than {1 << self.SLOT_BITS} nodes present at once")
        self._free = list(range(new - 1, self._cap - 1, -1))
        self._cap = new
        old, b = self._bits, _slot_bits(new)
        if b != old and self._keys.size:  # the same (type, rx, tx) order with wider slots
            mask = (1 << old) - 1
            k = self._keys
            self._keys = ((k >> 2 * old) << b | (k >> old) & mask) << b | k & mask
        self._bits = b

    def update(self, msg_type: np.ndarray, rx_slot: np.ndarray, tx_slot: np.ndarray,
               t_ns: np.ndarray, step: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Record receptions; return (msg_type, gap_ns) of those with an earlier reception,
        in the order of the input.

        All arrays (m,); ``t_ns`` int64 reception times [ns]. Without ``step``, at most one
        reception per (type, rx, tx) in one call. With ``step`` (m,) int64, non-decreasing (the
        steps of a window, links in step order), at most one per (type, rx, tx) and step: the
        steps are taken in order, each gap measured from the pair's reception one or more
        steps before. Raises ValueError when ``step`` decreases.
        """
        if step is not None and np.any(step[1:] < step[:-1]):
            raise ValueError("step must be non-decreasing (links in step order)")
        b = self._bits
        cell = ((msg_type.astype(np.int64) << b | rx_slot) << b) | tx_slot
        prev = np.full(cell.size, -1, np.int64)
        if cell.size == 0:
            return msg_type[:0], prev
        # receptions of one pair in the window in step order: each one's previous time is the
        # one before it in the run, the run's first one's is the stored time
        o, c = self._pair_order(cell)
        t = t_ns[o]
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
            prev[o] = stored
        else:
            prev_o = np.empty(c.size, np.int64)
            prev_o[1:] = t[:-1]
            prev_o[first] = stored
            prev[o] = prev_o
        # the store: the known pairs take their latest time, new pairs are merged in
        self._times[at[known]] = latest[known]
        new = ~known
        if new.any():
            self._keys = np.insert(self._keys, at[new], uc[new])
            self._times = np.insert(self._times, at[new], latest[new])
        had = prev >= 0
        return msg_type[had], (t_ns - prev)[had]

    def _pair_order(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Order of the receptions by pair key ``cell`` (m,), stable (receptions of one pair
        stay in input order: step order in :meth:`update`), and the keys in that order.

        A least-significant-digit radix sort: one stable ``argsort`` per 16 bits of the key,
        low digits first (numpy sorts 16-bit keys by radix, wider ones by comparison). At
        65,000 receptions a window (8-bit slots: two digits) it took 1.3 ms where a sort of
        ``(pair, step, position)`` packed into int64 took 3.3 ms."""
        digits = range(0, _TYPE_BITS + 2 * self._bits, 16)
        o = np.argsort((cell & 0xFFFF).astype(np.uint16), kind="stable")
        for shift in digits[1:]:
            digit = ((cell >> shift) & 0xFFFF).astype(np.uint16)
            o = o[np.argsort(digit[o], kind="stable")]
        return o, cell[o]


def _slot_bits(capacity: int) -> int:
    """Bits of a slot index below ``capacity``."""
    return max(1, (capacity - 1).bit_length())
