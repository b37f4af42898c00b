"""Writes the broken-capture corpus of ``tests/analysis/test_check_corpus.py`` (run from any
folder: ``python tests/analysis/captures/make_captures.py``). The files are committed; this
script says how they were made. Each file is one case; the expected exit code and message
of each are in the test's ``CASES``.

Good lines are 10 Hz BSMs of one vehicle (id 7, sender ``obu-7``) from
2024-05-01T00:00:58Z, secMark the ms of the minute of their capture time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from v2x.messages import BsmBatch, encode_bsm_batch

HERE = Path(__file__).parent
T0 = 1_714_521_658  # 2024-05-01T00:00:58Z [s]
#: a _bsm frame with one bit of its vehicle events flipped: asn1tools raises
#: NotImplementedError ("BIT STRING extension is not yet implemented") on it
NOT_IMPLEMENTED = ("0020a000000000000000207d099d8b461621dfcdfc3e87081f43e8401fffe03298780f0148"
                   "8000")


def bsm(msg_cnt: int, t_ms: int) -> str:
    def a(v: int) -> np.ndarray:
        return np.array([v], np.int64)
    sec_mark = (T0 * 1000 + t_ms) % 60_000
    batch = BsmBatch(sender=a(7), msg_cnt=a(msg_cnt % 128), sec_mark=a(sec_mark),
                     lat=a(390_558_000), lon=a(1_170_550_000), speed=a(500), heading=a(7200),
                     accel_long=a(0), width=a(180), length=a(480), height=a(30),
                     classification=a(10), brake=np.array([False]), events=a(0))
    return encode_bsm_batch(batch)[0].hex()


def line(msg_cnt: int, t_ms: int) -> str:
    t = f"{T0 + t_ms // 1000}.{t_ms % 1000:03d}"
    return '{"t": ' + t + ', "sender": "obu-7", "frame": "' + bsm(msg_cnt, t_ms) + '"}'


def good(n: int = 3) -> list[str]:
    return [line(k, 100 * k) for k in range(n)]


def write(name: str, lines: list[str], *, end: str = "\n") -> None:
    (HERE / name).write_text("\n".join(lines) + end, encoding="utf-8")


def main() -> None:
    write("clean.jsonl", good(5))
    cut = line(3, 300)
    write("truncated-line.jsonl", good(3) + [cut[:len(cut) // 2]], end="")
    write("bad-hex.jsonl", good(3) + ['{"t": 1714521658.3, "frame": "zz11"}'])
    write("odd-length-hex.jsonl", good(3) + ['{"t": 1714521658.3, "frame": "0a1"}'])
    write("missing-keys.jsonl", good(3) + ['{"sender": "obu-7", "frame": "00"}',
                                           '{"t": 1714521658.4, "sender": "obu-7"}'])
    write("wrong-types.jsonl", good(3) + ['{"t": true, "frame": "00"}',
                                          '{"t": 1714521658.4, "frame": 12}',
                                          '{"t": 1714521658.5, "frame": "00", "sender": [7]}'])
    write("not-an-object.jsonl", good(3) + ["[1714521658.3, \"00\"]"])
    write("not-json.jsonl", good(3) + ["t=1714521658.3 frame=00"])
    write("nan-time.jsonl", good(3) + ['{"t": NaN, "frame": "00"}'])
    write("time-1e20.jsonl", good(3) + ['{"t": 1e20, "frame": "00"}'])
    write("time-negative.jsonl", good(3) + ['{"t": -99999999999999, "frame": "00"}'])
    write("time-year-9999.jsonl", good(3) + ['{"t": "9999-12-31T23:59:59+00:00", "frame": "00"}'])
    write("time-before-1970.jsonl", good(3) + ['{"t": "1969-12-31T23:59:59Z", "frame": "00"}'])
    write("deep-nesting.jsonl", good(3) + ["[" * 5000 + "]" * 5000])
    write("not-implemented-frame.jsonl", good(3) + [
        '{"t": 1714521658.3, "sender": "obu-9", "frame": "' + NOT_IMPLEMENTED + '"}'])
    write("decode-error-and-bad-line.jsonl", good(3) + [
        '{"t": 1714521658.3, "sender": "obu-9", "frame": "ff0013"}', "{oops"])
    write("msgcnt-wrap-13s.jsonl", [line(120 + k, 100 * k) for k in range(7)]
          + [line(k, 13_600 + 100 * k) for k in range(3)])
    write("all-lines-unreadable.jsonl", ["{oops", '{"t": 1e20, "frame": "00"}'])
    (HERE / "empty.jsonl").write_bytes(b"")
    (HERE / "binary.bin").write_bytes(bytes(range(256)) * 2)
    d = HERE / "not-a-recording"
    d.mkdir(exist_ok=True)
    (d / "notes.txt").write_text("a folder that is not a run directory\n", encoding="utf-8")
    d = HERE / "recording-without-transmissions"
    d.mkdir(exist_ok=True)
    (d / "run.json").write_text(json.dumps({"start": "2024-05-01T08:00:58+08:00",
                                            "status": "complete"}) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
