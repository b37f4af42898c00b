"""Several UPER MessageFrames in one bus payload.

An RSU forwards every BSM it heard in a step as one MQTT message (one message per BSM would be
thousands of MQTT messages per step). The payload is the frames one after another, each
preceded by its length as a 2-byte big-endian unsigned integer (a frame is at most 65535
bytes). A payload of one frame carried alone (SPAT, MAP) is the bare frame, no prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from v2x.errors import DecodeError

__all__ = ["pack_frame_groups", "pack_frame_rows", "pack_frames", "unpack_frames"]


def pack_frames(frames: Sequence[bytes]) -> bytes:
    """Length-prefix and concatenate ``frames``.

    Raises:
        ValueError: a frame is longer than 65535 bytes.
    """
    out = bytearray()
    for f in frames:
        if len(f) > 0xFFFF:
            raise ValueError(f"a frame of {len(f)} bytes does not fit a 2-byte length")
        out += len(f).to_bytes(2, "big") + f
    return bytes(out)


def pack_frame_rows(rows: np.ndarray) -> bytes:
    """:func:`pack_frames` of equal-length frames given as a (k, L) uint8 array, vectorized."""
    return pack_frame_groups(rows, np.array([0, rows.shape[0]]))[0]


def pack_frame_groups(rows: np.ndarray, bounds: np.ndarray,
                      lengths: np.ndarray | None = None) -> list[bytes]:
    """Several :func:`pack_frames` payloads at once: payload g holds the equal-length frames
    ``rows[bounds[g]:bounds[g + 1]]`` ((k, L) uint8, one frame per row; ``bounds`` (G + 1,)
    non-decreasing, from 0 to k). All frames are prefixed in one array operation. With
    ``lengths`` (k,) int, frame i is the first ``lengths[i]`` bytes of row i (rows of
    unequal frames, as :func:`v2x.messages.encode_bsm_rows` gives for emergency vehicles).

    Raises:
        ValueError: L is larger than 65535.
    """
    k, length = rows.shape
    if length > 0xFFFF:
        raise ValueError(f"a frame of {length} bytes does not fit a 2-byte length")
    if lengths is not None and bool(np.any(np.asarray(lengths) != length)):
        b = np.asarray(bounds, np.int64).tolist()
        ln = np.asarray(lengths, np.int64).tolist()
        return [pack_frames([rows[i, :ln[i]].tobytes() for i in range(lo, hi)])
                for lo, hi in zip(b[:-1], b[1:], strict=True)]
    packed = np.empty((k, length + 2), np.uint8)
    packed[:, 0], packed[:, 1] = length >> 8, length & 0xFF
    packed[:, 2:] = rows
    buf = packed.tobytes()
    w = length + 2
    b = np.asarray(bounds, np.int64).tolist()
    return [buf[lo * w:hi * w] for lo, hi in zip(b[:-1], b[1:], strict=True)]


def unpack_frames(payload: bytes) -> list[bytes]:
    """The frames of a :func:`pack_frames` payload (each frame is bytes; decode it with
    :func:`~v2x.messages.decode_frame`).

    Raises:
        DecodeError: the payload is not bytes, or ends inside a length prefix or a frame
            (names the offset); never another exception.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise DecodeError(f"frame envelope: a payload must be bytes, got "
                          f"{type(payload).__name__}")
    payload = bytes(payload)
    frames = []
    i, n = 0, len(payload)
    while i < n:
        if i + 2 > n:
            raise DecodeError(f"frame envelope: truncated length prefix at byte {i} of {n}")
        length = int.from_bytes(payload[i:i + 2], "big")
        if i + 2 + length > n:
            raise DecodeError(f"frame envelope: frame of {length} bytes at byte {i} runs past "
                              f"the end of the {n}-byte payload")
        frames.append(payload[i + 2:i + 2 + length])
        i += 2 + length
    return frames
