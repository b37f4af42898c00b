"""v2x._gc: the collector's settings within a run and after it."""

from __future__ import annotations

import gc
import weakref

from v2x._gc import GEN0_THRESHOLD, fewer_collections


def test_within_start_up_objects_are_frozen_and_gen0_waits_longer() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    start_up = [object() for _ in range(10)]  # exists at entry: frozen within
    with fewer_collections():
        assert gc.get_threshold() == (GEN0_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > frozen_before
        assert gc.get_freeze_count() >= len(gc.get_objects()) // 2  # most of what exists
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before
    assert start_up


def test_cycles_made_within_are_still_collected() -> None:
    class Node:
        other: object

    with fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle, unreachable once the names go
        gone = weakref.ref(a)
        del a, b
        assert gc.collect() >= 2
        assert gone() is None


def test_settings_are_restored_when_the_run_raises() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    try:
        with fewer_collections():
            raise RuntimeError("run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen_before
