"""How long Dagster spends handing events to its event log (storing them), for benchmarks.

Wraps `DagsterInstance.handle_new_event`, through which every event of a run (planned,
materialization, check evaluation, step events) is stored, and sums its wall and CPU
time (`time.process_time`: this process, all threads). What is left of a run's time
is the work of the assets and Dagster's step machinery around it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class EventLogTime:
    """Events handed to the event log and the time it took."""

    events: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextmanager
def timed_event_log() -> Iterator[EventLogTime]:
    """Time every `handle_new_event` call made while the block runs."""
    import dagster as dg

    spent = EventLogTime()
    original = dg.DagsterInstance.handle_new_event

    def timed(self: dg.DagsterInstance, event: Any, **kwargs: Any) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            original(self, event, **kwargs)
        finally:
            spent.events += 1
            spent.wall_s += time.perf_counter() - wall
            spent.cpu_s += time.process_time() - cpu

    dg.DagsterInstance.handle_new_event = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        dg.DagsterInstance.handle_new_event = original  # type: ignore[method-assign]
