"""Pausing Python's cyclic garbage collector around work that builds many small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (or the decorated function).

    Parsing and cleaning build hundreds of thousands of small tuples, dicts and records
    that hold no cycles; while they pile up they re-trigger full collections that find
    next to nothing (~25 % of a parse, ~a sixth of cleaning's CPU, measured). Reference
    counting still frees everything as usual; a collector found paused is left paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
