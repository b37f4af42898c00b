"""BSM batches: JSON rows equal the codec's JSON of the UPER frame."""

from __future__ import annotations

import numpy as np

from v2x.messages import (
    BsmBatch,
    decode_frame,
    encode_bsm_batch,
    frame_to_json,
)


def _batch(n: int, seed: int) -> BsmBatch:
    r = np.random.default_rng(seed)
    return BsmBatch(
        sender=r.integers(0, 2**31, n), msg_cnt=r.integers(0, 128, n),
        sec_mark=r.integers(0, 60000, n), lat=r.integers(-900000000, 900000001, n),
        lon=r.integers(-1799999999, 1800000001, n), speed=r.integers(0, 8192, n),
        heading=r.integers(0, 28801, n), accel_long=r.integers(-2000, 2002, n),
        width=r.integers(1, 1024, n), length=r.integers(1, 4096, n),
        height=r.integers(1, 128, n), classification=r.integers(0, 256, n),
        brake=r.random(n) < 0.5, events=r.choice([0, 128], n))


def test_json_rows_equal_the_codec_json_of_each_frame() -> None:
    batch = _batch(40, 3)
    frames = encode_bsm_batch(batch)
    rows = batch.to_json()
    for frame, row in zip(frames, rows, strict=True):
        assert row == frame_to_json(decode_frame(frame))

