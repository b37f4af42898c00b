"""Every decoder raises only DecodeError, for any input (issue 12 item 1).

asn1tools raised NotImplementedError on some corrupt frames ("BIT STRING extension is not yet
implemented", "Normally small length number >64 ..."), a valid BSM followed by junk decoded as
that BSM, and 5 MB of zeros decoded as a BSM of zeros. Here: bytes after a frame and non-zero
padding bits are errors; absurd inputs fail fast; tens of thousands of mutated frames of every
message type (v2x.messages._fuzz: bit flips, truncation, extension, insertion, splices,
random bytes) and hypothesis inputs go through every decode entry point (decode_frame,
FrameReader, decode_bsm_frames, unpack_frames, frame_from_json) with no other exception.
``benchmarks/fuzz_codec.py`` runs the same mutations a million times.
"""

from __future__ import annotations

import collections
import json
import random
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.v2x.messages.test_uper import NOW, _batch, messages
from v2x.errors import DecodeError
from v2x.messages import (
    MAX_FRAME_BYTES,
    PROFILES,
    Bsm,
    LightState,
    NodeReferenceId,
    frame_to_json,
    pack_frames,
    unpack_frames,
)
from v2x.messages._fuzz import MUTATIONS, mutate, sample_messages
from v2x.messages._uper import (
    FrameReader,
    SpatFrameTemplate,
    decode_bsm_frames,
    decode_frame,
    encode_bsm_batch,
    encode_frame,
    frame_from_json,
)

#: mutated frames per message type (BSM, MAP, SPAT, RSI, RSM, Day-2 extension) in the bounded
#: fuzz test: 6 x 4000 = 24,000 frames through decode_frame, ~6 s of CPU
PER_TYPE = 4000
TYPES = ("Bsm", "MapData", "Spat", "Rsi", "Rsm", "FrameExt")


@pytest.fixture(scope="module")
def seeds() -> dict[str, list[bytes]]:
    """Valid frames by message type: 40 random messages of each (fixed seed), plus BSMs in the
    batch layout (decode_bsm_frames' fast path) and SPAT template frames (FrameReader's)."""
    msgs = sample_messages(random.Random(20240601), 40)
    out: dict[str, list[bytes]] = collections.defaultdict(list)
    for m in msgs:
        out[type(m).__name__].append(encode_frame(m))
    out["Bsm"] += encode_bsm_batch(_batch(np.random.default_rng(5), 40))
    out["Spat"] += _template_spats()
    return dict(out)


def _template_spats() -> list[bytes]:
    tpl = SpatFrameTemplate(intersection_id=NodeReferenceId(7, 1), status=0,
                            lights=[LightState.RED, LightState.PROTECTED_GREEN, LightState.RED],
                            likely_end_after_ns=[0, 30 * 10**9, -1],
                            next_start_after_ns=[40 * 10**9, -1, 5 * 10**9],
                            next_duration_ns=[20 * 10**9, -1, -1], fixed_time=True)
    return [tpl.encode(k % 128, NOW + k * 10**8, k * 10**8) for k in range(40)]


def _outcome(fn: Any, data: Any) -> Any:
    """``fn(data)``'s message, or ("DecodeError", message); any other exception propagates."""
    try:
        return fn(data)
    except DecodeError as exc:
        assert str(exc), "a DecodeError names what failed"
        return ("DecodeError", str(exc))


# ---------------------------------------------------------------- trailing data, padding, size


@pytest.mark.parametrize("junk", [b"\x00", b"\x5a", bytes(200), bytes(range(200))])
def test_bytes_after_a_frame_are_rejected_by_every_decoder(seeds: dict[str, list[bytes]],
                                                           junk: bytes) -> None:
    reader = FrameReader()
    for kind in TYPES:
        for frame in seeds[kind][:5] + seeds[kind][-2:]:
            decode_frame(frame, now_ns=NOW)  # the frame itself is fine
            reader.decode(frame, now_ns=NOW)
            bad = frame + junk
            for fn in (decode_frame, reader.decode):
                with pytest.raises(DecodeError, match=f"{len(junk)} bytes? after the end"):
                    fn(bad, now_ns=NOW)
            # in an envelope the frame's own length prefix covers the junk: still refused
            (inner,) = unpack_frames(pack_frames([bad]))
            with pytest.raises(DecodeError, match="after the end"):
                decode_frame(inner, now_ns=NOW)
    bsms = seeds["Bsm"]
    _, ok_good, _ = decode_bsm_frames(bsms)  # an id >= 2**63 has no int64 sender column
    assert ok_good.sum() >= 60
    _, ok, errors = decode_bsm_frames([f + junk for f in bsms])
    assert not ok.any() and len(errors) == len(bsms)
    assert all("after the end" in str(e) for _, e in errors)


def test_a_valid_bsm_with_200_junk_bytes_is_not_a_bsm() -> None:
    frame = encode_frame(Bsm(msg_cnt=1, id=bytes(8), sec_mark_s=1.0, lat_deg=39.0,
                             lon_deg=117.0, speed_mps=1.0, heading_deg=0.0, width_m=1.8,
                             length_m=4.5))
    junk = random.Random(1).randbytes(200)
    with pytest.raises(DecodeError, match=r"200 bytes after the end of the frame \(\d+ bits"):
        decode_frame(frame + junk)


def test_non_zero_padding_bits_are_rejected() -> None:
    # a batch-layout BSM is 310 bits in 39 bytes: 2 padding bits, on the numpy fast path
    frames = encode_bsm_batch(_batch(np.random.default_rng(2), 3))
    bad = [f[:-1] + bytes([f[-1] | 0x01]) for f in frames]
    _, ok, errors = decode_bsm_frames(frames + bad)
    assert ok.tolist() == [True] * 3 + [False] * 3
    assert all("padding bits" in str(e) for _, e in errors)
    with pytest.raises(DecodeError, match="the 2 padding bits after the frame's 310 bits"):
        decode_frame(bad[0])
    # a template SPAT, known to a FrameReader (its fast path compares every other bit)
    reader = FrameReader()
    good = _template_spats()
    for f in good:
        reader.decode(f, now_ns=NOW)
    n_fast = reader.fast_decodes
    spat_bits = len(good[0]) * 8 - _padding(good[0])
    assert spat_bits % 8, "the SPAT template frame needs padding bits for this test"
    with pytest.raises(DecodeError, match="padding bits"):
        reader.decode(good[0][:-1] + bytes([good[0][-1] | 0x01]), now_ns=NOW)
    assert reader.fast_decodes == n_fast


def _padding(frame: bytes) -> int:
    """Number of padding bits of a valid frame: the trailing bits that can be set to 1 and
    make it a padding error."""
    for k in range(1, 8):
        try:
            decode_frame(frame[:-1] + bytes([frame[-1] | (1 << k) - 1]), now_ns=NOW)
        except DecodeError as exc:
            if "padding" not in str(exc):
                return k - 1
            continue
        return k - 1
    return 7


def test_absurd_inputs_fail_fast() -> None:
    for data in (bytes(5_000_000), b"\xff" * 5_000_000):
        t = time.perf_counter()
        with pytest.raises(DecodeError, match="more than a frame can hold"):
            decode_frame(data)
        with pytest.raises(DecodeError, match="more than a frame can hold"):
            FrameReader().decode(data)
        _, ok, errors = decode_bsm_frames([data])
        assert not ok[0] and "more than a frame can hold" in str(errors[0][1])
        assert time.perf_counter() - t < 0.5
    # the largest accepted length still fails fast: 64 KiB of zeros is a BSM, then junk
    t = time.perf_counter()
    with pytest.raises(DecodeError, match="after the end"):
        decode_frame(bytes(MAX_FRAME_BYTES))
    assert time.perf_counter() - t < 0.5


@pytest.mark.parametrize("data", [None, "00", 5, [0, 1], 3.0, b""])
def test_inputs_that_are_not_frames(data: Any) -> None:
    with pytest.raises(DecodeError, match="MessageFrame"):
        decode_frame(data)
    with pytest.raises(DecodeError, match="MessageFrame"):
        FrameReader().decode(data)
    _, ok, errors = decode_bsm_frames([data, "x" * 39])
    assert not ok.any() and [i for i, _ in errors] == [0, 1]
    if data != b"":
        with pytest.raises(DecodeError, match="frame envelope"):
            unpack_frames(data)


def test_decode_bsm_frames_refuses_what_is_not_a_batch() -> None:
    for frames in (5, None, np.zeros((2, 39), np.int16), np.zeros(39, np.uint8)):
        with pytest.raises(DecodeError, match="BSM frames"):
            decode_bsm_frames(frames)  # type: ignore[arg-type]


# ---------------------------------------------------------------- JSON

JSON_JUNK: list[Any] = [None, True, -1, 2**70, 10**300, 1e308,
                        float("nan"), float("inf"), 0.5, "", "ab" * 600, [], {}, [1, [2]],
                        {"a": {"b": 1}}]


def _deep(n: int) -> Any:
    x: Any = 1
    for _ in range(n):
        x = {"a": [x]}
    return x


def test_json_frames_raise_only_decode_error(seeds: dict[str, list[bytes]]) -> None:
    rng = random.Random(7)
    objs = [frame_to_json(decode_frame(f, now_ns=NOW)) for kind in TYPES
            for f in seeds[kind][:20]]
    counts: collections.Counter[str] = collections.Counter()
    for _ in range(3000):
        obj = json.loads(json.dumps(rng.choice(objs)))
        for _ in range(rng.randint(1, 3)):
            _mutate_json(obj, rng)
        out = _outcome(lambda o: frame_from_json(o, now_ns=NOW), obj)
        counts["error" if isinstance(out, tuple) else "ok"] += 1
    assert counts["error"] > 1000 and counts["ok"] > 0, counts
    for bad in ([], "spatFrame", _deep(3000), {"bsmFrame": _deep(50)}, *JSON_JUNK):
        with pytest.raises(DecodeError):
            frame_from_json(bad)
    # text where a TimeMark is an integer used to be repeated 10**8 times (MemoryError)
    spat = frame_to_json(decode_frame(seeds["Spat"][-1], now_ns=NOW))
    spat["spatFrame"]["intersections"][0]["phases"][0]["phaseStates"][0]["timing"][
        "counting"]["likelyEndTime"] = "ab" * 600
    with pytest.raises(DecodeError, match="TimeMark"):
        frame_from_json(spat, now_ns=NOW)


def _mutate_json(obj: Any, rng: random.Random) -> None:
    """Replace, delete or add one member somewhere in ``obj`` (in place)."""
    path: list[Any] = []
    node = obj
    while isinstance(node, dict | list) and node and rng.random() < 0.85:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return
    parent, key = path[-1]
    r = rng.random()
    if r < 0.7:
        parent[key] = rng.choice(JSON_JUNK + [_deep(rng.choice((5, 30)))])
    elif r < 0.85 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent["zz"] = rng.choice(JSON_JUNK)


# ---------------------------------------------------------------- the bounded fuzz


def test_mutated_frames_of_every_type_raise_only_decode_error(
        seeds: dict[str, list[bytes]]) -> None:
    rng = random.Random(12)
    corpus = [f for kind in TYPES for f in seeds[kind]]
    reader = FrameReader()
    for f in seeds["Spat"]:
        reader.decode(f, now_ns=NOW)  # learn the layouts: mutants then hit the fast path
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    for kind in TYPES:
        mutants = [mutate(rng.choice(seeds[kind]), rng, corpus) for _ in range(PER_TYPE)]
        results = [_outcome(lambda d: decode_frame(d, now_ns=NOW), data) for _, data in mutants]
        for (how, _), res in zip(mutants, results, strict=True):
            outcomes[(how, "DecodeError" if isinstance(res, tuple) else "decoded")] += 1
        if kind == "Spat":  # FrameReader gives decode_frame's result, fast path or not
            for (_, data), res in zip(mutants, results, strict=True):
                assert repr(_outcome(lambda d: reader.decode(d, now_ns=NOW), data)) == repr(res)
        if kind == "Bsm":  # the batch decoder agrees with decode_frame frame by frame
            _, ok, errors = decode_bsm_frames([d for _, d in mutants])
            assert len(errors) == int((~ok).sum())
            for i, res in enumerate(results):
                if ok[i]:
                    assert isinstance(res, Bsm)
                elif isinstance(res, Bsm):
                    assert int.from_bytes(res.id, "big") >= 2**63  # no int64 sender column
    # every mutation ran, and both outcomes occur (the corpus is not trivially refused)
    assert {how for how, _ in outcomes} == set(MUTATIONS)
    decoded = sum(c for (_, res), c in outcomes.items() if res == "decoded")
    assert 0 < decoded < sum(outcomes.values()) // 2, outcomes
    assert reader.fast_decodes > 0


def test_both_profiles_decode_only_with_decode_error() -> None:
    # a smaller round under each conformance profile (their MAP modules differ)
    rng = random.Random(3)
    for name, profile in PROFILES.items():
        msgs = sample_messages(rng, 10, max_connections=profile.connects_to_max)
        frames = [encode_frame(m, profile=name) for m in msgs]
        for _ in range(2000):
            _, data = mutate(rng.choice(frames), rng, frames)
            _outcome(lambda d, name=name: decode_frame(d, now_ns=NOW, profile=name), data)


# ---------------------------------------------------------------- hypothesis

HSETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large])
#: examples that encode a message first (~1 ms each)
HSETTINGS_MSG = settings(HSETTINGS, max_examples=150)


@HSETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_raise_only_decode_error(data: bytes) -> None:
    res = _outcome(lambda d: decode_frame(d, now_ns=NOW), data)
    assert repr(_outcome(lambda d: FrameReader().decode(d, now_ns=NOW), data)) == repr(res)
    _, ok, errors = decode_bsm_frames([data])
    assert ok.sum() + len(errors) == 1
    _outcome(unpack_frames, data)


@HSETTINGS_MSG
@given(messages, st.binary(min_size=1, max_size=64))
def test_any_frame_with_trailing_bytes_is_refused(msg: Any, junk: bytes) -> None:
    frame = encode_frame(msg)
    with pytest.raises(DecodeError, match="after the end"):
        decode_frame(frame + junk, now_ns=NOW)


@HSETTINGS_MSG
@given(messages, st.lists(st.tuples(st.integers(0, 10**5), st.integers(1, 255)),
                          min_size=1, max_size=6), st.integers(0, 3))
def test_any_edit_of_a_frame_raises_only_decode_error(msg: Any, edits: list[tuple[int, int]],
                                                      cut: int) -> None:
    b = bytearray(encode_frame(msg))
    for pos, xor in edits:
        b[pos % len(b)] ^= xor
    data = bytes(b[:len(b) - cut] if cut < len(b) else b)
    res = _outcome(lambda d: decode_frame(d, now_ns=NOW), data)
    assert repr(_outcome(lambda d: FrameReader().decode(d, now_ns=NOW), data)) == repr(res)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["bsmFrame", "spatFrame", "mapFrame", "rsiFrame", "rsmFrame",
                                 "msgFrameExt", "msgCnt", "intersections", "phases", "id",
                                 "nodes", "refPos", "lat", "long", "value", "messageId", "x"]),
                                inner, max_size=4)), max_leaves=30)


@HSETTINGS
@given(json_values)
def test_any_json_value_raises_only_decode_error(obj: Any) -> None:
    _outcome(lambda o: frame_from_json(o, now_ns=NOW), obj)
