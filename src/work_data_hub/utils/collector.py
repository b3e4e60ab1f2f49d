"""The cyclic garbage collector held back while a file is resolved chunk by chunk.

A chunk allocates hundreds of thousands of short-lived containers (key tuples, parameter
rows, mapping records) while the run keeps hundreds of thousands of long-lived ones (the
mapping snapshot, the key memos). CPython counts every allocation towards a collection
and, every few hundred thousand of them, walks *all* tracked objects: on a 2,000,000-row
file that was eleven full passes costing more than a second, to find a few thousand
cyclic objects. Reference counting frees everything else the moment it is dropped.

:func:`paused` turns automatic collection off for the run and :func:`collect_young`
collects the two young generations between chunks, where a chunk's cycles (pandas
objects refer to themselves) live: memory stays bounded by the chunk, and the old
generation is left to the first automatic pass after the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collect_young", "paused"]


@contextmanager
def paused() -> Iterator[None]:
    """Automatic collection off inside the block (as it was after); nests safely."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def collect_young() -> int:
    """Collect generations 0 and 1 (cheap: only objects allocated since the last pass);
    the number of unreachable objects found."""
    return gc.collect(1)
