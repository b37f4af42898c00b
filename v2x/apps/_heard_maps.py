"""What the hosts of a run learned from the MAPs they received: one definition for every
application that reads MAP (RLVW, GLOSA, ICW, LTA), and in a run one instance, updated once per
window by the loop and handed to every application in :attr:`~v2x.apps.AppWindow.maps`.

An OBU learns an intersection's lanes from the MAP its RSU broadcasts (T/CSAE 53-2020 /
YD/T 3709-2020 MapData). PC5 is a broadcast: every receiver of a MAP frame gets the same bytes,
and an RSU's MAP is static within a run, so the first MAP of each sender that decodes is
decoded once and its nodes kept in one :class:`~v2x.apps.MapCache` for all hosts; what differs
per host is whether it heard that RSU's MAP, kept as (host vehicle, RSU node) pairs
(:class:`HostRsuPairs`). A host uses a node's lanes only once it heard the MAP of the RSU that
sent them (:meth:`HeardMaps.heard`, :meth:`HeardMaps.match_heard`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from v2x.apps._base import AppWindow
from v2x.apps._mapmatch import LaneTable, MapCache, MatchResult, StopCircles, match
from v2x.apps._spat_view import node_key
from v2x.msgset import MSG_TYPES

__all__ = ["HeardMaps", "HostRsuPairs", "distinct_rows", "maps_of"]

_MAP = MSG_TYPES.index("MAP")


class HostRsuPairs:
    """A growing set of (host vehicle, RSU node) pairs: which host heard which RSU's MAP, or
    its payment-zone sign (VNFP). Held as sorted unique int64 keys ``host << 32 | node``
    (vehicle index and RSU node both below 2**31); membership is a binary search (``np.isin``
    would sort both sides every window)."""

    def __init__(self) -> None:
        self._keys = np.empty(0, np.int64)

    def add(self, host: npt.ArrayLike, node: npt.ArrayLike) -> None:
        """Add the pairs ``(host[i], node[i])`` (k,) int (most are often held already)."""
        keys = self._key(host, node)
        new = np.unique(keys[~self._held(keys)])
        if new.size:
            self._keys = np.insert(self._keys, np.searchsorted(self._keys, new), new)

    def has(self, host: npt.ArrayLike, node: npt.ArrayLike) -> np.ndarray:
        """``(k,)`` bool: the pair ``(host[i], node[i])`` is held (a negative node: False)."""
        node = np.asarray(node, np.int64)
        return self._held(self._key(host, np.maximum(node, 0))) & (node >= 0)

    def __len__(self) -> int:
        return int(self._keys.size)

    @staticmethod
    def _key(host: npt.ArrayLike, node: npt.ArrayLike) -> np.ndarray:
        return (np.asarray(host, np.int64) << 32) | np.asarray(node, np.int64)

    def _held(self, keys: np.ndarray) -> np.ndarray:
        if self._keys.size == 0:
            return np.zeros(keys.shape, bool)
        at = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        return self._keys[at] == keys  # type: ignore[no-any-return]


def distinct_rows(rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, return_inverse=True)`` for ``(k,)`` row indices below ``n_rows``, by
    marking them (no sort): the distinct rows ascending, and each one's position among them."""
    marked = np.zeros(n_rows, bool)
    marked[rows] = True
    position = np.cumsum(marked) - 1  # of each marked row among the marked ones
    return np.flatnonzero(marked), position[rows]


class HeardMaps:
    """The MAPs the hosts of a run received: the lanes of every node learned (:attr:`cache`,
    each sender's MAP decoded once), which RSU sent each node (:attr:`node_sender`), each
    node's reference position (``refPos``, the junction centre; :attr:`centre`) and which host
    heard which RSU's MAP. Update with :meth:`learn` once per window, before the applications
    read it.

    Attributes:
        cache: the lane tables of the nodes learned; None before the first MAP.
        node_sender: node key (:func:`~v2x.apps.node_key`) -> RSU node that sent its MAP.
        centre: node key -> its refPos (x, y) [m, network].
    """

    def __init__(self) -> None:
        self.cache: MapCache | None = None
        self.node_sender: dict[int, int] = {}
        self.centre: dict[int, tuple[float, float]] = {}
        self._senders: set[int] = set()  # RSU nodes whose MAP was learned
        self._heard = HostRsuPairs()
        self._circles: StopCircles | None = None  # of the current table

    @property
    def known(self) -> bool:
        """A MAP with at least one node has been learned."""
        return self.cache is not None and bool(self.node_sender)

    @property
    def table(self) -> LaneTable:
        """The lanes of every node learned (:attr:`MapCache.table`, a new object when a node
        was added or changed). Raises RuntimeError before the first MAP (check
        :attr:`known`)."""
        if self.cache is None:
            raise RuntimeError("no MAP learned yet (check HeardMaps.known first)")
        return self.cache.table

    @property
    def stop_circles(self) -> StopCircles:
        """The :class:`~v2x.apps.StopCircles` of :attr:`table` (rebuilt when it changes)."""
        table = self.table
        if self._circles is None or self._circles.lanes is not table:
            self._circles = StopCircles.of(table)
        return self._circles

    def learn(self, window: AppWindow) -> bool:
        """Decode the MAPs in ``window.links`` of senders not learned yet (a frame that does
        not decode teaches nothing: the checker counts it) and remember which host heard whose
        MAP. Returns True when a node was learned."""
        lk = window.links
        mp = np.flatnonzero(lk.msg_type == _MAP)
        if mp.size == 0:
            return False
        if self.cache is None:
            self.cache = MapCache(window.geo)
        learned = False
        senders, first = np.unique(lk.sender[mp], return_index=True)
        for sender, row in zip(senders.tolist(), mp[first].tolist(), strict=True):
            if sender in self._senders:
                continue
            msg = window.decoded("MAP", np.array([lk.tx[row]]))[0]
            if msg is None:
                continue
            self._senders.add(sender)
            self.cache.update(msg)
            for node in msg.nodes:
                key = int(node_key(node.id.id, -1 if node.id.region is None
                                   else node.id.region))
                self.node_sender[key] = sender
                x, y = window.geo.to_xy(node.ref_pos.lat_deg, node.ref_pos.lon_deg)
                self.centre[key] = (float(x), float(y))
                learned = True
        self._heard.add(window.hosts.index[lk.host[mp]], lk.sender[mp])
        return learned

    def heard(self, host_index: npt.ArrayLike, sender: npt.ArrayLike) -> np.ndarray:
        """``(k,)`` bool: host vehicle ``host_index`` (k,) heard the MAP of RSU node
        ``sender`` (k,) (negative: False)."""
        return self._heard.has(host_index, sender)

    def sender_of(self, node: np.ndarray) -> np.ndarray:
        """``(k,)`` int64: the RSU node that sent the MAP of node keys ``node`` (k,), -1 for
        none."""
        keys = np.array(sorted(self.node_sender), np.int64)
        if keys.size == 0:
            return np.full(np.shape(node), -1, np.int64)
        senders = np.array([self.node_sender[int(k)] for k in keys], np.int64)
        at = np.clip(np.searchsorted(keys, node), 0, keys.size - 1)
        return np.where(keys[at] == node, senders[at], -1)

    def match_heard(self, window: AppWindow, links: np.ndarray,
                    near: Callable[[np.ndarray], np.ndarray], *, tolerance_m: float,
                    max_heading_diff_deg: float) -> tuple[np.ndarray, MatchResult]:
        """Match the hosts of the received links ``links`` (k,) (rows of ``window.links`` of
        RSU messages, e.g. SPATs) to the lanes of the MAP the link's sender sent
        (:func:`~v2x.apps.match` with ``tolerance_m`` [m] and ``max_heading_diff_deg``
        [deg]).

        A link is kept where its host heard its sender's MAP, ``near(rows)`` is True for its
        host row (``rows`` (r,) distinct rows of ``window.hosts``, ascending; ``near`` returns
        (r,) bool: a cheap necessary condition of the application, e.g. close enough to a
        stop point; other rows are not matched) and the host matches a lane of a node that
        sender's MAP gave. Each host row is matched once for all its links. Returns the
        positions in ``links`` (c,) ascending, and the hosts' matches (c,). Raises
        RuntimeError before the first MAP (check :attr:`known`).
        """
        lk, st = window.links, window.hosts
        host, sender = lk.host[links], lk.sender[links]
        cand = np.flatnonzero(self.heard(st.index[host], sender))
        rows, row_of_cand = distinct_rows(host[cand], st.n)
        close = np.asarray(near(rows), bool)
        to_match = rows[close]  # each host row once
        keep = close[row_of_cand]
        cand = cand[keep]
        m = match(self.table, st.x[to_match], st.y[to_match], st.heading_deg[to_match],
                  tolerance_m=tolerance_m, max_heading_diff_deg=max_heading_diff_deg).take(
                      (np.cumsum(close) - 1)[row_of_cand[keep]])
        ok = np.flatnonzero((m.lane >= 0) & (self.sender_of(m.node_key) == sender[cand]))
        return cand[ok], m.take(ok)


def maps_of(window: AppWindow, own: HeardMaps) -> HeardMaps:
    """The MAPs the window's hosts have heard: ``window.maps`` when the window brings them
    (the loop's one instance, learned once per window for every application), else ``own``
    (an application's, for windows built without it, e.g. in tests) after learning the
    window's MAPs."""
    if window.maps is not None:
        return window.maps
    own.learn(window)
    return own
