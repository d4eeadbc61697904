"""Work done in a forked child process beside the caller, with one message each way.

The export parser reads the second half of a large text in a child while it reads the
first half itself: the two halves run on two cores (less wall time, the same CPU time).
The child needs one answer from the parent before it can finish (what the first half
saw), so the exchange is: the parent sends one pickled value, the child replies with
one pickled value and exits. Nothing here knows about exports.

Only for POSIX (`os.fork`); `available()` says whether this process can use it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any

_READ_SIZE = 1 << 20


def available() -> bool:
    """Whether this platform can fork."""
    return hasattr(os, "fork")


def _read_all(descriptor: int) -> bytes:
    parts: list[bytes] = []
    while part := os.read(descriptor, _READ_SIZE):
        parts.append(part)
    return b"".join(parts)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


class ForkedWork:
    """`work(receive)` running in a forked child from `__init__` on; `receive()` (inside
    the child) waits for what the parent `send`s and gives it (None when the parent
    sent nothing). `result()` sends the parent's value and returns what `work` returned,
    or raises `ForkedWorkFailed` when it raised or the child died.

    The child shares nothing with the parent after the fork: it gets a copy of the
    parent's memory and ends with `os._exit`, running no exit handler of the parent's.
    `close()` (also on `result()`) reaps the child, killing it if it still runs.
    """

    def __init__(self, work: Callable[[Callable[[], Any]], Any]) -> None:
        to_child_read, self._to_child = os.pipe()
        self._from_child, from_child_write = os.pipe()
        self._pid: int | None = os.fork()
        if self._pid == 0:  # the child
            status = 1
            try:
                os.close(self._to_child)
                os.close(self._from_child)

                def receive() -> Any:
                    data = _read_all(to_child_read)
                    return pickle.loads(data) if data else None

                try:
                    reply = pickle.dumps((True, work(receive)), protocol=5)
                except BaseException as error:  # reported to the parent, who decides
                    reply = pickle.dumps((False, f"{type(error).__name__}: {error}"))
                _write_all(from_child_write, reply)
                status = 0
            finally:
                os._exit(status)
        os.close(to_child_read)
        os.close(from_child_write)

    def result(self, value: Any) -> Any:
        """Send `value` to the child, wait for its reply, reap it; `work`'s return value."""
        try:
            # A child that ended before reading says why in its reply.
            with contextlib.suppress(BrokenPipeError):
                _write_all(self._to_child, pickle.dumps(value, protocol=5))
            os.close(self._to_child)
            self._to_child = -1
            data = _read_all(self._from_child)
            if data and self._pid is not None:  # the child replied: it is ending by itself
                os.waitpid(self._pid, 0)
                self._pid = None
        finally:
            self.close()
        if not data:
            raise ForkedWorkFailed("the child process ended without a reply")
        succeeded, reply = pickle.loads(data)
        if not succeeded:
            raise ForkedWorkFailed(reply)
        return reply

    def close(self) -> None:
        """Reap the child (killed if it still runs) and close the pipes; idempotent."""
        for descriptor in (self._to_child, self._from_child):
            if descriptor >= 0:
                os.close(descriptor)
        self._to_child = self._from_child = -1
        if self._pid is not None:
            pid, self._pid = self._pid, None
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already
                pass


class ForkedWorkFailed(RuntimeError):
    """The forked work raised, or its process died, before replying."""
