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
        """Count links: msg_type (m,) int8 code, distance_m (m,) [m], received (m,) bool."""
        if msg_type.size == 0:
            return
        b = (distance_m / self.bin_m).astype(np.int64)  # distances >= 0: truncation = floor
        # one count of (type, bin, received) cells: column 0 lost, column 1 received
        cell = (msg_type.astype(np.int64) * self.n_bins + b) * 2 + received
        keep = b < self.n_bins
        if not keep.all():
            cell = cell[keep]
        size = len(MSG_TYPES) * self.n_bins
        counts = np.bincount(cell, minlength=2 * size).reshape(size, 2)
        self.pairs += (counts[:, 0] + counts[:, 1]).reshape(self.pairs.shape)
        self.received += counts[:, 1].reshape(self.pairs.shape)

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

    Nodes are mapped to dense slots while present (``assign``/``release``); the table of last
    times is ``(n_types, rx_slots, tx_slots)`` int64 with -1 for "never".
    """

    def __init__(self, capacity: int = 64) -> None:
        self._cap = capacity
        self._last = np.full((len(MSG_TYPES), capacity, capacity), -1, np.int64)
        self._slot_of: dict[int, int] = {}
        self._free: list[int] = list(range(capacity - 1, -1, -1))

    def slots(self, nodes: np.ndarray) -> np.ndarray:
        """Slots of nodes (n,) int64, assigning free slots to new nodes."""
        out = np.empty(nodes.shape[0], np.int64)
        slot_of = self._slot_of
        for i, node in enumerate(nodes.tolist()):
            s = slot_of.get(node)
            if s is None:
                if not self._free:
                    self._grow()
                s = self._free.pop()
                slot_of[node] = s
            out[i] = s
        return out

    def release(self, present: np.ndarray) -> None:
        """Free the slots of nodes not in ``present`` (n,) and forget their times."""
        keep = set(present.tolist())
        gone = [n for n in self._slot_of if n not in keep]
        if not gone:
            return
        freed = np.array([self._slot_of.pop(n) for n in gone], np.int64)
        self._last[:, freed, :] = -1
        self._last[:, :, freed] = -1
        self._free.extend(freed.tolist())

    def _grow(self) -> None:
        new = self._cap * 2
        last = np.full((len(MSG_TYPES), new, new), -1, np.int64)
        last[:, : self._cap, : self._cap] = self._last
        self._free = list(range(new - 1, self._cap - 1, -1))
        self._last = last
        self._cap = new

    def update(self, msg_type: np.ndarray, rx_slot: np.ndarray, tx_slot: np.ndarray,
               t_ns: np.ndarray, step: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Record receptions; return (msg_type, gap_ns) of those with an earlier reception.

        All arrays (m,); ``t_ns`` int64 reception times [ns]. Without ``step``, at most one
        reception per (type, rx, tx) in one call. With ``step`` (m,) int64, non-decreasing (the
        steps of a window, links in step order), at most one per (type, rx, tx) and step: the
        steps are taken in order, each gap measured from the pair's reception one or more
        steps before. Raises ValueError when ``step`` decreases.
        """
        cap = self._cap
        cell = (msg_type.astype(np.int64) * cap + rx_slot) * cap + tx_slot
        last = self._last.reshape(-1)  # a view: take/put on flat cells
        if step is None or msg_type.size == 0:
            prev = last.take(cell)
            last.put(cell, t_ns)
        else:
            if np.any(step[1:] < step[:-1]):
                raise ValueError("step must be non-decreasing (links in step order)")
            cuts = np.flatnonzero(step[1:] != step[:-1]) + 1
            bounds = [0, *cuts.tolist(), int(step.size)]
            prev = np.empty_like(t_ns)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                c = cell[a:b]
                prev[a:b] = last.take(c)
                last.put(c, t_ns[a:b])
        had = prev >= 0
        return msg_type[had], (t_ns - prev)[had]
