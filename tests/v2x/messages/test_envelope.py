"""Several frames in one bus payload: 2-byte big-endian length prefixes."""

from __future__ import annotations

import numpy as np
import pytest

from v2x.errors import DecodeError
from v2x.messages import pack_frame_groups, pack_frame_rows, pack_frames, unpack_frames


def test_pack_and_unpack() -> None:
    frames = [b"\x01\x02\x03", b"", b"\xff" * 300]
    payload = pack_frames(frames)
    # 3-byte frame -> 00 03 01 02 03; empty -> 00 00; 300 bytes -> 01 2c + 300 bytes
    assert payload[:7] == b"\x00\x03\x01\x02\x03\x00\x00"
    assert payload[7:9] == b"\x01\x2c" and len(payload) == 5 + 2 + 302
    assert unpack_frames(payload) == frames
    assert unpack_frames(b"") == []


def test_rows_pack_like_frames() -> None:
    rows = np.arange(3 * 39, dtype=np.uint8).reshape(3, 39)
    assert pack_frame_rows(rows) == pack_frames([r.tobytes() for r in rows])


def test_groups_pack_like_frames_per_group() -> None:
    rows = np.arange(6 * 39, dtype=np.uint8).reshape(6, 39)
    groups = pack_frame_groups(rows, np.array([0, 2, 2, 6]))
    frames = [r.tobytes() for r in rows]
    assert groups == [pack_frames(frames[:2]), b"", pack_frames(frames[2:])]
    assert unpack_frames(groups[2]) == frames[2:]
    assert groups[0][:2] == b"\x00\x27"  # 39 as a 2-byte big-endian length
    with pytest.raises(ValueError, match="2-byte length"):
        pack_frame_groups(np.zeros((1, 70_000), np.uint8), np.array([0, 1]))


@pytest.mark.parametrize("bad", [b"\x00", b"\x00\x05abc", b"\x00\x01a\x00"])
def test_truncated_payloads_are_decode_errors(bad: bytes) -> None:
    with pytest.raises(DecodeError, match="frame envelope"):
        unpack_frames(bad)
    with pytest.raises(ValueError, match="2-byte length"):
        pack_frames([b"x" * 70000])
