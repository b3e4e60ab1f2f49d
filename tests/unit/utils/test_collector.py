"""The collector is held back inside ``paused`` and young cycles are still freed on demand."""

from __future__ import annotations

import gc
import weakref

from work_data_hub.utils import collector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_automatic_collection_is_off_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_pause_in_force() -> None:
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_is_restored_when_the_block_raises() -> None:
    try:
        with collector.paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()


def test_collect_young_frees_a_cycle_made_while_paused() -> None:
    with collector.paused():
        node = _Node()
        ref = weakref.ref(node)
        del node
        assert ref() is not None  # nothing collected it automatically
        assert collector.collect_young() >= 1
        assert ref() is None
