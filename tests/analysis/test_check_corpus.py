"""``v2x check`` on a corpus of broken captures (issue 12): each file of
``tests/analysis/captures/`` (made by its ``make_captures.py``) is one case, run through the
installed ``v2x`` command as a subprocess; the exit code, the message (file, line, value)
and the absence of a traceback are asserted.

Exit codes (``analysis._check``, README, ``v2x check --help``): 0 conformant, 1 violations
found, 2 input unreadable (nothing checked) or a usage error, 3 some lines unreadable (the
rest checked), 70 an internal error of the checker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

pytestmark = pytest.mark.slow  # ~1 s of CPU per case: a fresh interpreter imports analysis

CAPTURES = Path(__file__).parent / "captures"
RANGE = ("is out of range: capture times must be from 1970-01-01T00:00:00Z up to "
         "2100-01-01T00:00:00Z (epoch seconds 0 up to 4102444800)")


class Case(NamedTuple):
    path: str  # relative to CAPTURES (the command runs there, so messages name it so)
    exit_code: int
    expected: tuple[str, ...]  # each must appear in stdout + stderr


CASES = [
    Case("clean.jsonl", 0, ("result: PASS (0 violations, 0 warnings, 0 input problems)",)),
    Case("msgcnt-wrap-13s.jsonl", 1, (
        "line 8: msgCnt 126 -> 0 after 13.000 s: 129 missing (1 by msgCnt + 1 wrap of 128; "
        "about 129 by time at the 100 ms period)",)),
    Case("not-implemented-frame.jsonl", 1, ("obu-9 ? decode_error: 1", "line 4: ",
                                            "NotImplementedError")),
    Case("decode-error-and-bad-line.jsonl", 3, (
        "obu-9 ? decode_error: 1",
        "decode-error-and-bad-line.jsonl, line 5: not JSON (Expecting property name enclosed "
        "in double quotes at column 2): '{oops'", "result: INCOMPLETE (1 violations")),
    Case("truncated-line.jsonl", 3, (
        "truncated-line.jsonl, line 4: not JSON (Unterminated string starting at column 51; "
        "the last line has no newline: the file may be truncated): "
        "'{\"t\": 1714521658.300, \"sender\": \"obu-7\"",
        "v2x check: truncated-line.jsonl: 1 input problem (listed in the report); the rest "
        "was checked")),
    Case("bad-hex.jsonl", 3, (
        "bad-hex.jsonl, line 4: 'frame' is not hex (non-hexadecimal number found in fromhex() "
        "arg at position 0): 'zz11'",)),
    Case("odd-length-hex.jsonl", 3, (
        "odd-length-hex.jsonl, line 4: 'frame' is not hex (an odd number of hex digits): "
        "'0a1'",)),
    Case("missing-keys.jsonl", 3, (
        "missing-keys.jsonl, line 4: key 't' missing (keys: 'sender', 'frame')",
        "missing-keys.jsonl, line 5: key 'frame' missing (keys: 't', 'sender')")),
    Case("wrong-types.jsonl", 3, (
        "wrong-types.jsonl, line 4: 't' must be an ISO 8601 time or epoch seconds, got true",
        "wrong-types.jsonl, line 5: 'frame' must be a hex string, got 12",
        "wrong-types.jsonl, line 6: 'sender' must be a non-empty string or an integer, got a "
        "JSON array")),
    Case("not-an-object.jsonl", 3, (
        'not-an-object.jsonl, line 4: expected a JSON object {"t", "frame", "sender"}, got a '
        "JSON array",)),
    Case("not-json.jsonl", 3, (
        "not-json.jsonl, line 4: not JSON (Expecting value at column 1): "
        "'t=1714521658.3 frame=00'",)),
    Case("nan-time.jsonl", 3, (
        "nan-time.jsonl, line 4: not JSON (NaN is not a number in JSON): "
        "'{\"t\": NaN, \"frame\": \"00\"}'",)),
    Case("deep-nesting.jsonl", 3, (
        "deep-nesting.jsonl, line 4: not JSON that can be read: nested too deeply: '[[[[",
        "... (10000 characters)")),
    Case("time-1e20.jsonl", 3, (f"time-1e20.jsonl, line 4: 't' 1E+20 {RANGE}",)),
    Case("time-negative.jsonl", 3, (
        f"time-negative.jsonl, line 4: 't' -99999999999999 {RANGE}",)),
    Case("time-year-9999.jsonl", 3, (
        f"time-year-9999.jsonl, line 4: 't' '9999-12-31T23:59:59+00:00' {RANGE}",)),
    Case("time-before-1970.jsonl", 3, (
        f"time-before-1970.jsonl, line 4: 't' '1969-12-31T23:59:59Z' {RANGE}",)),
    Case("all-lines-unreadable.jsonl", 2, (
        "all-lines-unreadable.jsonl, line 1: not JSON",
        f"all-lines-unreadable.jsonl, line 2: 't' 1E+20 {RANGE}",
        "result: UNREADABLE", "nothing could be checked")),
    Case("empty.jsonl", 2, ("empty.jsonl: no frames to check", "result: UNREADABLE")),
    Case("binary.bin", 2, (
        "binary.bin, line 1: not JSON (Expecting value at column 1): '\\x00\\x01",
        "binary.bin, line 2: not UTF-8 text (invalid start byte at byte 117 of the line): "
        "'\\x0e\\x0f", "nothing could be checked")),
    Case("not-a-recording", 2, ("v2x check: error: not-a-recording/run.json: file missing",)),
    Case("recording-without-transmissions", 2, (
        "v2x check: error: recording-without-transmissions/transmissions.parquet",)),
    Case("no-such-file.jsonl", 2, ("'no-such-file.jsonl' does not exist",)),  # click's usage
]


def _v2x() -> str:
    exe = Path(sys.executable).with_name("v2x")  # the venv's, even when not activated
    return str(exe) if exe.exists() else (shutil.which("v2x") or "v2x")


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run at once (each is a fresh interpreter, ~1 s of CPU to import)."""
    def run(case: Case) -> subprocess.CompletedProcess[str]:
        return subprocess.run([_v2x(), "check", case.path], cwd=CAPTURES, capture_output=True,
                              text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip((c.path for c in CASES), pool.map(run, CASES), strict=True))


def test_every_capture_is_a_case() -> None:
    files = {p.name for p in CAPTURES.iterdir() if p.name != "make_captures.py"}
    assert files == {c.path for c in CASES} - {"no-such-file.jsonl"}


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_check_on_a_broken_capture(case: Case,
                                   results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    res = results[case.path]
    output = res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert res.returncode == case.exit_code, output
    for text in case.expected:
        assert text in output, output
