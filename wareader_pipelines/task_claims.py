"""Tasks shared by a process and its worker pool, each done once by whoever takes it first.

Ingestion and cleaning hand out batches (days of webhook bodies, groups of days to
clean) to a worker pool from the last one backwards while the process itself works from
the first one forwards; both meet in the middle, whatever the workers' start-up time or
the machine's load. A batch is taken by setting its flag in shared memory under a lock,
not by cancelling the pool's future: Python 3.11's pool fails in its own thread when a
worker dies while cancelled futures are pending (InvalidStateError), and can then hang
at shutdown.
"""

from __future__ import annotations

from multiprocessing.context import BaseContext
from typing import Any


class TaskClaims:
    """One flag per task, shared with worker processes (by fork, or as a pool initarg)."""

    def __init__(self, context: BaseContext, tasks: int) -> None:
        self._flags: Any = context.Array("b", max(tasks, 1))

    def claim(self, index: int) -> bool:
        """Take task `index`: True if nobody had, False if someone else did first."""
        with self._flags.get_lock():
            if self._flags[index]:
                return False
            self._flags[index] = 1
            return True
