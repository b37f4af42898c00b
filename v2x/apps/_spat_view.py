"""Decoded SPAT messages as arrays, for vectorized look-ups of (intersection, phaseId).

An OBU receives SPAT (T/CSAE 53-2020 / YD/T 3709-2020) from the RSUs around it; applications
such as RLVW need, per host vehicle, the light of one phase of one intersection and how long it
will stay on. :class:`SpatView` keeps one row per (message, intersection, phase) of the
messages' phase states (:class:`~v2x.messages.SpatPhaseStates`, which the frame reader gives
straight from the frames, or of decoded :class:`~v2x.messages.Spat` values) so that the
look-up is a ``searchsorted`` over ``(n,)`` hosts, not a Python loop.

Keys. An intersection is ``NodeReferenceID {region?, id}``; :func:`node_key` packs it into one
int64, ``(region + 1) << 16 | id`` with an absent region as 0, so region 0 and no region stay
distinct. A phase row's key is ``node_key << 8 | phaseId`` (PhaseID 0..255). The MAP side
(:mod:`v2x.apps._mapmatch`) uses the same :func:`node_key`.

Timing. SPAT timing is in the standard's counting mode (STANDARDS.md section 1; the decoder
gives ``TimeCountingDown`` durations [ns] from the instant the message was formed, quantized to
TimeMark's 0.1 s). The view turns the current state's ``likelyEndTime`` into an absolute
instant, ``end_ns = ref_ns + likely_end_time_ns``, with ``ref_ns`` the intersection's
``timestamp_ns`` if present, else the message's, else the reception time the caller gives; a
look-up at ``now_ns`` then returns ``(end_ns - now_ns)`` seconds, so an older message counts
down correctly. ``ref_ns`` and ``now_ns`` must be on one clock: UTC [ns since the Unix epoch],
as :func:`v2x.messages.decode_frame` gives when passed ``now_ns`` (the simulated UTC time).
An unknown likely end (TimeMark 36001, absent timing) is an end that never comes (``+inf``
seconds left): the light does not change within the cycle.

The current state of a phase is its first ``PhaseState`` whose ``startTime`` is 0 (on now);
if none is, the first state (the standard lists the current one first). Later states (future
lights) are not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from v2x.apps._base import AppWindow
from v2x.messages._spat import NO_TIME, Spat, SpatPhaseStates

__all__ = ["END_UNKNOWN_NS", "SpatLookup", "SpatView", "node_key", "received_spat_states",
           "received_spat_view"]

#: ``SpatView.end_ns`` of a light whose end is unknown (it never ends within the cycle)
END_UNKNOWN_NS = np.iinfo(np.int64).max


def node_key(node_id: npt.ArrayLike, region: npt.ArrayLike | None = None) -> np.ndarray:
    """One int64 per intersection: ``(region + 1) << 16 | node_id``.

    Args:
        node_id: NodeID 0..65535, scalar or ``(n,)`` int.
        region: RoadRegulatorID 0..65535 or ``-1`` for absent, scalar or ``(n,)``; ``None`` =
            absent for all.

    Returns ``(n,)`` (or 0-d) int64. Raises ValueError for a value out of range.
    """
    nid = np.asarray(node_id, dtype=np.int64)
    reg = np.full(nid.shape, -1, np.int64) if region is None else np.asarray(region, np.int64)
    if np.any((nid < 0) | (nid > 65535)) or np.any((reg < -1) | (reg > 65535)):
        raise ValueError("node ids must be 0..65535 and regions -1 (absent) or 0..65535")
    return ((reg + 1) << 16) | nid  # type: ignore[no-any-return]


#: bits of a phase key (node_key << 8 | phaseId < 2**41)
_KEY_BITS = 41


def _current_states(states: SpatPhaseStates) -> np.ndarray:
    """Row of the current state of each (message, intersection, phase) of ``states``: its
    first state on now (no timing, or ``startTime`` 0), else its first state; ``(p,)`` int64
    in row order."""
    first = np.flatnonzero(states.state == 0)  # every phase's rows start with state 0
    if first.size == 0:
        return first
    n = states.n
    on_now = ~states.timed | (states.start_ns == 0)
    first_on_now = np.minimum.reduceat(np.where(on_now, np.arange(n), n), first)
    return np.where(first_on_now < n, first_on_now, first)


@dataclass(frozen=True, slots=True)
class SpatLookup:
    """The phase states found for ``(n,)`` queries.

    Attributes:
        found: bool; the view holds that (intersection, phase).
        light: int8 :class:`~v2x.messages.LightState` value; 0 (unavailable) where not found.
        time_left_s: float64 [s] until the current light likely ends, from the query time
            (``+inf`` unknown end, may be negative for a stale message; NaN where not found).
    """

    found: np.ndarray
    light: np.ndarray
    time_left_s: np.ndarray


@dataclass(frozen=True, slots=True)
class SpatView:
    """Phase states of decoded SPAT messages, one row per (message, intersection, phase).

    Rows are sorted by ``key`` then ``ref_ns`` then ``msg`` (so for one key the last row is the
    newest). All fields ``(p,)``.

    Attributes:
        key: int64, ``node_key << 8 | phaseId``.
        msg: int64, index of the message in the sequence the view was built from.
        light: int8 LightState of the current state.
        end_ns: int64 UTC [ns] when the current light likely ends; ``END_UNKNOWN_NS`` unknown.
        ref_ns: int64 UTC [ns] the timing counts from.
    """

    key: np.ndarray
    msg: np.ndarray
    light: np.ndarray
    end_ns: np.ndarray
    ref_ns: np.ndarray

    @property
    def n(self) -> int:
        """Number of phase rows."""
        return int(self.key.shape[0])

    @classmethod
    def from_spats(cls, spats: Sequence[Spat], *,
                   received_ns: int | Sequence[int] | None = None) -> SpatView:
        """The view of decoded SPAT messages (:meth:`from_states` of their
        :class:`~v2x.messages.SpatPhaseStates`).

        Args:
            spats: decoded :class:`~v2x.messages.Spat` values.
            received_ns: UTC [ns] each message was received (one int for all, or one per
                message); used only where a message carries no timestamp.

        Raises ValueError when a message has no timestamp and no reception time is given, or
        ``received_ns`` does not match ``spats`` in length.
        """
        return cls.from_states(SpatPhaseStates.of(spats), received_ns=received_ns)

    @classmethod
    def from_states(cls, states: SpatPhaseStates, *,
                    received_ns: int | Sequence[int] | None = None) -> SpatView:
        """The view of SPAT phase states (as the frame reader gives them): per (message,
        intersection, phase) its current state (the module docstring), vectorized.

        Args:
            states: the phase states of ``states.n_msgs`` messages.
            received_ns: UTC [ns] each message was received (one int for all, or one per
                message); used only where a message carries no timestamp.

        Raises ValueError when a message has no timestamp and no reception time is given, or
        ``received_ns`` does not give one time per message.
        """
        if received_ns is not None and not isinstance(received_ns, int | np.integer) \
                and len(received_ns) != states.n_msgs:
            raise ValueError(f"received_ns has {len(received_ns)} times for "
                             f"{states.n_msgs} messages")
        current = _current_states(states)
        msg = states.msg[current]
        ref = states.ref_ns[current]
        no_time = np.flatnonzero(ref == NO_TIME)
        if no_time.size:
            if received_ns is None:
                raise ValueError(f"SPAT message {int(msg[no_time[0]])} has no timestamp: "
                                 "give received_ns")
            recv = np.broadcast_to(np.asarray(received_ns, np.int64), (states.n_msgs,))
            ref[no_time] = recv[msg[no_time]]  # ref is a copy (fancy indexing)
        key = node_key(states.node_id[current], states.region[current]) << 8 \
            | states.phase_id[current]
        likely = states.likely_end_ns[current]
        end = np.where(likely == NO_TIME, END_UNKNOWN_NS, ref + likely)
        o = np.lexsort((msg, ref, key))
        return cls(key=key[o], msg=msg[o], light=states.light[current][o], end_ns=end[o],
                   ref_ns=ref[o])

    def lookup(self, node: npt.ArrayLike, phase_id: npt.ArrayLike, now_ns: npt.ArrayLike, *,
               msg: npt.ArrayLike | None = None) -> SpatLookup:
        """The current light of phase ``phase_id`` of intersection ``node`` for ``(n,)``
        queries, vectorized (one ``searchsorted``).

        Args:
            node: ``(n,)`` int64 :func:`node_key` of the intersection (e.g.
                ``MatchResult.node_key``); negative = no intersection (not found).
            phase_id: ``(n,)`` int phaseId 0..255; negative = no phase (not found).
            now_ns: UTC [ns] of the query (the host's time now): one int, or (n,).
            msg: optional ``(n,)`` int: look in this message only (the one the host last
                received from that intersection's RSU); default the newest row of the key.

        Returns :class:`SpatLookup`. Raises ValueError when the shapes differ.
        """
        nk = np.asarray(node, dtype=np.int64)
        ph = np.asarray(phase_id, dtype=np.int64)
        if nk.shape != ph.shape or nk.ndim != 1:
            raise ValueError(f"node and phase_id must share one (n,) shape, got {nk.shape}, "
                             f"{ph.shape}")
        valid = (nk >= 0) & (ph >= 0) & (ph <= 255)
        q = np.where(valid, (nk << 8) | np.clip(ph, 0, 255), -1)
        n = q.shape[0]
        if self.n == 0 or n == 0:
            return SpatLookup(found=np.zeros(n, bool), light=np.zeros(n, np.int8),
                              time_left_s=np.full(n, np.nan))
        if msg is None:
            at = np.searchsorted(self.key, q, side="right") - 1  # newest row of the key
            atc = np.maximum(at, 0)
            found = valid & (at >= 0) & (self.key[atc] == q)
        else:
            mq = np.asarray(msg, dtype=np.int64)
            if mq.shape != q.shape:
                raise ValueError(f"msg must have shape {q.shape}, got {mq.shape}")
            # one sorted compound key (message, phase key): key < 2**41, messages < 2**22
            compound = (self.msg << _KEY_BITS) | self.key
            o = np.argsort(compound, kind="stable")
            cq = (np.clip(mq, 0, None) << _KEY_BITS) | np.where(valid, q, 0)
            at_sorted = np.minimum(np.searchsorted(compound[o], cq), self.n - 1)
            atc = o[at_sorted]
            found = valid & (mq >= 0) & (compound[atc] == cq)
        light = np.where(found, self.light[atc], 0).astype(np.int8)
        end = self.end_ns[atc]
        unknown = end == END_UNKNOWN_NS
        now = np.asarray(now_ns, np.int64)
        left = (np.where(unknown, now, end) - now) / 1e9
        left[unknown] = np.inf
        left[~found] = np.nan
        return SpatLookup(found=found, light=light, time_left_s=left)


def received_spat_states(window: AppWindow, tx_rows: np.ndarray) -> list[SpatPhaseStates | None]:
    """The phase states of the window's SPAT transmissions ``tx_rows`` ``(k,)`` int, one per
    row (``None`` where a frame did not decode): from ``window.spat_states`` when the loop
    offers it (read from the frames' bits), else from the decoded messages."""
    rows = np.asarray(tx_rows, np.int64)
    if window.spat_states is not None:
        return window.spat_states(rows)
    return [None if s is None else SpatPhaseStates.of([s]) for s in window.decoded("SPAT", rows)]


def received_spat_view(window: AppWindow, links: np.ndarray, step: np.ndarray | None = None,
                       ) -> tuple[SpatView, np.ndarray, np.ndarray]:
    """The SPATs received on the links ``links`` (k,) (rows of ``window.links``), each
    distinct frame read once (:func:`received_spat_states`), as one :class:`SpatView`
    numbered by frame, with the hosts' clock at ``step`` (k,) steps of the window (default:
    each link's own step).

    Returns ``(view, msg, now_ns)``: the view (empty when no frame decoded; a frame's
    reception time in it is ``now_ns`` of its first link); ``msg`` (k,) int64 the link's
    message in the view, -1 where its frame did not decode (for :meth:`SpatView.lookup`);
    ``now_ns`` (k,) int64 UTC [ns] of ``step`` (``start_utc_ns + t_ns``).
    """
    lk = window.links
    tx, first, inverse = np.unique(lk.tx[links], return_index=True, return_inverse=True)
    states = received_spat_states(window, tx)
    good = np.array([s is not None for s in states], bool)
    now_ns = window.start_utc_ns + window.t_ns[lk.step[links] if step is None else step]
    view = SpatView.from_states(SpatPhaseStates.concat([s for s in states if s is not None]),
                                received_ns=now_ns[first][good].tolist())
    msg = np.where(good[inverse], (np.cumsum(good) - 1)[inverse], -1)
    return view, msg, now_ns
