"""Conformance profiles: MAP lanes' ``ConnectsToList`` is SIZE (1..8) in one family of public
module sets and (1..16) in another (issue 12 item 8). UPER writes a lane's connection count in
3 or 4 bits, so equipment of one family cannot decode the other's MAPs; here both are named
profiles for encode, decode and ``v2x check``, and captures made by either kind of equipment
(frames encoded by asn1tools from the matching module variant) decode under their profile and
fail clearly under the other."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import asn1tools
import pytest
from click.testing import CliRunner

from v2x.errors import ConfigError, DecodeError, EncodeError
from v2x.messages import (
    ASN1_DIR,
    DEFAULT_PROFILE,
    PROFILES,
    ConnectingLane,
    Connection,
    IntersectionState,
    IntersectionStatus,
    LightState,
    MapData,
    MapLane,
    MapLink,
    MapNode,
    NodeReferenceId,
    Phase,
    PhaseState,
    Position3D,
    Spat,
    TimeCountingDown,
    compiled_spec,
    decode_frame,
    encode_frame,
    frame_from_json,
    frame_to_json,
)
from v2x.messages._uper import FrameReader

S = 1_000_000_000
NOW = 1_717_243_200 * S  # 2024-06-01 12:00 UTC


def _map(n_connections: int, *, msg_cnt: int = 5) -> MapData:
    """One node (id 17) with one link whose lane 1 has ``n_connections`` connections, the
    k-th with phaseId k + 1."""
    conns = tuple(Connection(NodeReferenceId(20 + k % 3), ConnectingLane(k % 4 + 1),
                             phase_id=k + 1) for k in range(n_connections))
    lane = MapLane(1, lane_width_m=3.5, connects_to=conns,
                   points=(_pos(390_558_000, 1_170_550_000), _pos(390_559_000, 1_170_551_000)))
    link = MapLink(NodeReferenceId(18), (lane, MapLane(2, connects_to=conns[:1])))
    return MapData(msg_cnt, (MapNode(NodeReferenceId(17), _pos(390_558_000, 1_170_550_000),
                                     (link,)),))


def _pos(lat: int, lon: int) -> Position3D:
    """A position on the 1e-7 degree grid, which decodes to the same floats."""
    return Position3D(lat * 1e-7, lon * 1e-7)


def test_profiles_name_their_bounds_and_sources() -> None:
    assert DEFAULT_PROFILE == "connects-8"
    assert {n: p.connects_to_max for n, p in PROFILES.items()} == {
        "connects-8": 8, "connects-16": 16}
    for p in PROFILES.values():
        assert p.sources and all("/" in s and ".asn" in s for s in p.sources)
    assert any("day2/Map.asn" in s for s in PROFILES["connects-8"].sources)
    assert any("Release20190724/MapLane.asn" in s for s in PROFILES["connects-16"].sources)
    # one compiled specification per profile, compiled once
    assert compiled_spec() is compiled_spec(DEFAULT_PROFILE) is compiled_spec("connects-8")
    assert compiled_spec("connects-16") is not compiled_spec()


def test_the_default_profile_is_what_frames_were_before() -> None:
    m = _map(8)
    assert encode_frame(m) == encode_frame(m, profile="connects-8")
    # the count of lane 1's 8 connections is 3 bits (8 - 1 = 0b111) in connects-8 and 4 bits
    # (0b0111) in connects-16: one bit more per lane with connections (two lanes here)
    bits8 = len(encode_frame(m)) * 8
    assert bits8 - 8 < len(encode_frame(m, profile="connects-16")) * 8 - 2 <= bits8 + 8


@pytest.mark.parametrize("n", range(9, 17))
def test_a_map_with_9_to_16_connections_round_trips_under_connects_16(n: int) -> None:
    m = _map(n)
    frame = encode_frame(m, profile="connects-16")
    back = decode_frame(frame, now_ns=NOW, profile="connects-16")
    assert back == m
    assert [c.phase_id for c in back.nodes[0].in_links[0].lanes[0].connects_to] == \
        list(range(1, n + 1))
    assert FrameReader(profile="connects-16").decode(frame, now_ns=NOW) == m
    obj = json.loads(json.dumps(frame_to_json(m, profile="connects-16")))
    assert frame_from_json(obj, now_ns=NOW, profile="connects-16") == m
    # under connects-8 it cannot be encoded, and the error says why and what allows it
    with pytest.raises(EncodeError, match=rf"lanes\.connectsTo: Expected a list of between 1 "
                                          rf"and 8 elements, but got {n}.*profile "
                                          rf"'connects-8'.*'connects-16' allows 1\.\.16"):
        encode_frame(m)
    with pytest.raises(DecodeError, match="outside its ASN.1 range.*connectsTo"):
        frame_from_json(obj, now_ns=NOW)


def test_more_than_16_connections_is_refused_by_the_value_class() -> None:
    with pytest.raises(EncodeError, match=r"MapLane.connects_to must hold 0..16 items, got 17"):
        _map(17)


# ---------------------------------------------------------------- captures of either kind


def _equipment_spec(tmp_path: Path, connects_to_max: int) -> Any:
    """asn1tools compiled from our module files with ``ConnectsToList`` edited in the text,
    as equipment built on that module set would have it (independent of the codec's own
    profile machinery)."""
    out = tmp_path / f"asn1-{connects_to_max}"
    out.mkdir()
    for f in ASN1_DIR.glob("*.asn"):
        text = f.read_text(encoding="utf-8")
        if f.name == "V2X-MAP.asn":
            old = "ConnectsToList ::= SEQUENCE (SIZE (1..8)) OF Connection"
            assert text.count(old) == 1
            text = text.replace(old, old.replace("1..8", f"1..{connects_to_max}"))
        (out / f.name).write_text(text, encoding="utf-8")
    return asn1tools.compile_files(sorted(str(p) for p in out.glob("*.asn")), codec="uper")


def _capture_value(n: int, msg_cnt: int = 9) -> Any:
    """An asn1tools MessageFrame value of a MAP as equipment fills it: node 17, one link with
    one lane of ``n`` connections, the k-th with phaseId 10 + k."""
    conns = [{"remoteIntersection": {"id": 20 + k}, "connectingLane": {"lane": 1},
              "phaseId": 10 + k} for k in range(n)]
    lane = {"laneID": 1, "laneWidth": 350, "connectsTo": conns}
    link = {"upstreamNodeId": {"id": 18}, "lanes": [lane]}
    node = {"id": {"region": 1, "id": 17}, "refPos": {"lat": 390558000, "long": 1170550000},
            "inLinks": [link]}
    return ("mapFrame", {"msgCnt": msg_cnt, "nodes": [node]})


@pytest.fixture(scope="module")
def equipment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """asn1tools specifications of equipment on either module set, by matching profile."""
    tmp = tmp_path_factory.mktemp("equipment")
    return {"connects-8": _equipment_spec(tmp, 8), "connects-16": _equipment_spec(tmp, 16)}


@pytest.fixture(scope="module")
def captures(equipment: dict[str, Any]) -> dict[str, dict[int, bytes]]:
    """Frames by the equipment's profile and connection count."""
    return {name: {n: spec.encode("MessageFrame", _capture_value(n), check_constraints=True)
                   for n in (1, 3, 8, 12, 16) if n <= PROFILES[name].connects_to_max}
            for name, spec in equipment.items()}


def _phase_ids(m: Any) -> list[int]:
    assert isinstance(m, MapData)
    return [c.phase_id for c in m.nodes[0].in_links[0].lanes[0].connects_to]


@pytest.mark.parametrize("kind, other", [("connects-16", "connects-8"),
                                         ("connects-8", "connects-16")])
def test_captures_of_either_kind_decode_under_their_profile(
        captures: dict[str, dict[int, bytes]], kind: str, other: str) -> None:
    for n, frame in captures[kind].items():
        m = decode_frame(frame, now_ns=NOW, profile=kind)
        assert _phase_ids(m) == [10 + k for k in range(n)]
        assert encode_frame(m, profile=kind) == frame  # our encoder writes the same bits
        # under the other profile: a DecodeError naming that profile, the lane connectsTo
        # bound, and the profile the frame does decode under
        with pytest.raises(DecodeError) as info:
            decode_frame(frame, now_ns=NOW, profile=other)
        text = str(info.value)
        bound = PROFILES[other].connects_to_max
        assert f"(profile '{other}': lane connectsTo SIZE (1..{bound}))" in text
        assert f"it decodes under profile '{kind}'" in text
        assert text.startswith("MessageFrame")
        with pytest.raises(DecodeError, match=f"profile '{other}'"):
            FrameReader(profile=other).decode(frame, now_ns=NOW)


def test_a_connects_16_capture_fails_at_connects_to_under_connects_8(
        captures: dict[str, dict[int, bytes]]) -> None:
    # 12 connections: 4 count bits 1011 read as 3 (101: 6 connections), then the bits run out
    # of step; the frame ends early or late, and the error names where or how
    with pytest.raises(DecodeError, match=r"profile 'connects-8'.*connects-16"):
        decode_frame(captures["connects-16"][12], now_ns=NOW)


def test_an_unknown_profile_is_a_config_error() -> None:
    for call in (lambda: encode_frame(_map(1), profile="connects-32"),
                 lambda: decode_frame(b"\x00", profile="connects-32"),
                 lambda: FrameReader(profile="connects-32"),
                 lambda: compiled_spec("nope"),
                 lambda: compiled_spec(["connects-8"])):  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=r"unknown conformance profile .*; known: "
                                              r"connects-8, connects-16"):
            call()


# ---------------------------------------------------------------- v2x check --profile


def _check_capture(tmp_path: Path, map_frames: list[bytes]) -> Path:
    """2 s of a SPAT (phases 10..21) every 100 ms and the MAP every second, as JSON lines."""
    t0 = dt.datetime(2024, 6, 1, 20, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    lines = []
    for k in range(20):
        t = t0 + dt.timedelta(milliseconds=100 * k)
        ns = (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000
        state = IntersectionState(NodeReferenceId(17, 1), IntersectionStatus.NONE, tuple(
            Phase(p, (PhaseState(LightState.RED, TimeCountingDown(0, 10 * S)),))
            for p in range(10, 22)))
        spat = encode_frame(Spat(msg_cnt=k, intersections=(state,), timestamp_ns=ns))
        lines.append({"t": t.isoformat(), "sender": "rsu-17", "frame": spat.hex()})
        if k % 10 == 0:
            lines.append({"t": t.isoformat(), "sender": "rsu-17",
                          "frame": map_frames[k // 10].hex()})
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_v2x_check_takes_the_profile(tmp_path: Path, equipment: dict[str, Any]) -> None:
    import analysis
    from v2x.cli import main

    maps = [equipment["connects-16"].encode("MessageFrame", _capture_value(12, msg_cnt=k))
            for k in (9, 10)]
    path = _check_capture(tmp_path, maps)
    rep = analysis.check(path, profile="connects-16")
    assert rep.counts() == {} and rep.exit_code == 0
    (inter,) = rep.intersections
    assert inter.map_phases == tuple(range(10, 22)) and inter.missing == ()
    rep8 = analysis.check(path)  # the default, connects-8: both MAPs are decode errors
    assert rep8.counts().get("decode_error") == 2
    details = [ex.detail for st in rep8.streams for f in st.findings
               if f.kind == "decode_error" for ex in f.examples]
    assert details and all("profile 'connects-8'" in d and "it decodes under profile "
                           "'connects-16'" in d for d in details)

    runner = CliRunner()
    res = runner.invoke(main, ["check", str(path), "--profile", "connects-16"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["check", str(path)])
    assert res.exit_code == 1 and "decode_error" in res.output
    res = runner.invoke(main, ["check", str(path), "--profile", "connects-32"])
    assert res.exit_code == 2 and "connects-32" in res.output
    assert "connects-8" in runner.invoke(main, ["check", "--help"]).output


def test_map_values_are_the_same_in_both_profiles() -> None:
    # the JSON form does not depend on the profile; only the bits of connectsTo do
    m = _map(5)
    assert frame_to_json(m) == frame_to_json(m, profile="connects-16")
    assert decode_frame(encode_frame(m, profile="connects-16"), now_ns=NOW,
                        profile="connects-16") == decode_frame(encode_frame(m), now_ns=NOW)
