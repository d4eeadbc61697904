"""Work done in a forked child process beside the caller, talking with it by messages.

The export parser reads the second half of a large text in a child while it reads the
first half itself: the two halves run on two cores (less wall time, the same CPU time).
The halves need a few answers from each other on the way (what each half saw, the
decisions taken from both), so parent and child exchange pickled values over two pipes.
Nothing here knows about exports.

Only for POSIX (`os.fork`); `available()` says whether this process can use it.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
from collections.abc import Callable
from typing import Any

_LENGTH = struct.Struct("<Q")


def available() -> bool:
    """Whether this platform can fork."""
    return hasattr(os, "fork")


class ForkedWorkFailed(Exception):
    """The forked work raised, or its process ended, before the message waited for."""


class Channel:
    """One end of the two pipes: `send` a value, `receive` the other end's next one."""

    def __init__(self, reading: int, writing: int) -> None:
        self.reading, self.writing = reading, writing

    def send(self, value: Any, *, succeeded: bool = True) -> None:
        data = pickle.dumps((succeeded, value), protocol=5)
        view = memoryview(_LENGTH.pack(len(data)) + data)
        while view:
            view = view[os.write(self.writing, view) :]

    def receive(self) -> Any:
        """The next value sent; ForkedWorkFailed if the other end failed or ended."""
        (length,) = _LENGTH.unpack(self._exactly(_LENGTH.size))
        succeeded, value = pickle.loads(self._exactly(length))
        if not succeeded:
            raise ForkedWorkFailed(value)
        return value

    def _exactly(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            part = os.read(self.reading, min(size, 1 << 20))
            if not part:
                raise ForkedWorkFailed("the other process ended")
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        for descriptor in (self.reading, self.writing):
            if descriptor >= 0:
                os.close(descriptor)
        self.reading = self.writing = -1


class ForkedWork:
    """`work(channel)` running in a forked child from `__init__` on; this process talks
    with it through `channel`. What `work` returns is sent as its last message; if it
    raises, the error is sent instead and the parent's `receive` raises ForkedWorkFailed.

    The child shares nothing with the parent after the fork: it gets a copy of the
    parent's memory and ends with `os._exit`, running no exit handler of the parent's.
    `close()` ends the talk and reaps the child, killing it if it still runs.
    """

    def __init__(self, work: Callable[[Channel], Any]) -> None:
        self._pid: int | None = None
        self.channel = Channel(-1, -1)
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child
            status = 1
            try:
                # No cyclic collection in the short-lived child: it would write to every
                # tracked object's header, copying the parent's pages (copy-on-write).
                gc.disable()
                os.close(to_child_write)
                os.close(from_child_read)
                channel = Channel(to_child_read, from_child_write)
                try:
                    result = work(channel)
                except BaseException as error:  # sent to the parent, who decides
                    channel.send(f"{type(error).__name__}: {error}", succeeded=False)
                else:
                    channel.send(result)
                status = 0
            finally:
                os._exit(status)
        os.close(to_child_read)
        os.close(from_child_write)
        self.channel = Channel(from_child_read, to_child_write)

    def send(self, value: Any) -> None:
        """Send `value` to the child; a child that ended already is not waited for."""
        try:
            self.channel.send(value)
        except BrokenPipeError as error:
            raise ForkedWorkFailed("the child process ended") from error

    def receive(self) -> Any:
        """The child's next message (its work's result is its last)."""
        return self.channel.receive()

    def close(self) -> None:
        """Close the pipes and reap the child (killed if it still runs); idempotent."""
        self.channel.close()
        if self._pid is not None:
            pid, self._pid = self._pid, None
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already
                pass

    def finish(self) -> None:
        """Close the pipes and wait for the child, which ends after its last message."""
        self.channel.close()
        if self._pid is not None:
            pid, self._pid = self._pid, None
            os.waitpid(pid, 0)

    def __del__(self) -> None:
        if hasattr(self, "channel"):  # not when the fork itself failed
            self.close()
