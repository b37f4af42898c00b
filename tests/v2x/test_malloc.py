"""glibc malloc thresholds: set where glibc is, a no-op elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from v2x import _malloc


def test_thresholds_are_set_on_glibc_and_given_to_children() -> None:
    if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):  # pragma: no cover
        pytest.skip("not glibc")
    assert _malloc.keep_freed_memory() is True
    env = _malloc.malloc_env()
    assert env == {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                   "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20)}
    # a child started with them runs normally (glibc accepts the values)
    out = subprocess.run([sys.executable, "-c", "print(sum(range(10)))"],
                         env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "45"


def test_elsewhere_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_glibc(name: str) -> str:
        raise ValueError(name)

    monkeypatch.setattr(os, "confstr", no_glibc)
    assert _malloc.keep_freed_memory() is False
    assert _malloc.malloc_env() == {}
