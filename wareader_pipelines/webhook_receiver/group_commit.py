"""Group commit: durable small-file writes for many concurrent requests at the cost of a few.

A request hands its file to one writer thread and awaits it. The thread takes
everything queued at that moment as one batch (so batches grow with load and a
lone request waits for nobody): it writes a temporary file per body, makes the
data durable (one fsync, or fsyncs in parallel for a batch, which the file
system merges into a few journal commits), renames every file to its name,
then fsyncs each folder once so the renames are durable too; only then are the
awaiting requests told. The two halves run in two threads, as a pipeline: while
one batch is renamed and its folders synced, the next batch's files are written
and synced, so the two kinds of sync share the file system's journal commits;
every batch whose files were synced meanwhile is renamed with the next folder
sync, so a slow folder sync makes the next one larger rather than queueing.
Readers never see a partial file (names appear by
rename, temporaries start with `.incoming-`), and a file whose write, sync or
rename failed is reported to its own request only.

A write may name a *claim*: a path, derived from the content, that several
processes sharing the folder use to land that content once. After its rename the
writer makes the claim a hard link to its new file (`link` fails if the claim
exists, atomically, across processes, and allocates no inode, unlike a symbolic
link: inode allocation was the costliest system call of a request). If another
process's claim is there and still shares its file with a landed name (a link
count of two or more), the new file is removed again and the write reports the
claim, which holds the same bytes; a claim left alone (its file removed since)
is taken over. The claim and the removal are made durable with the folder
fsyncs, before anyone is told. Claims that are symbolic links (made by earlier
versions, which stored the file's name) are still honoured.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import queue
import secrets
import stat
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from wareader_pipelines.lib.keys import inside_key
from wareader_pipelines.resources.atomic_file import TEMPORARY_PREFIX

_T = TypeVar("_T")
# link(2) errors meaning "this file system has no hard links" (claims fall back to symlinks).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


@dataclass(slots=True)
class _Pending:
    relative: str
    data: bytes
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[str]
    claim: str | None = None
    stored_as: str | None = None
    error: BaseException | None = None
    temporary: str | None = None
    target: str | None = None
    descriptor: int | None = field(default=None, repr=False)


class GroupCommitWriter:
    """Writes files under `root` durably, batching the fsyncs of concurrent writes."""

    def __init__(self, root: Path, *, max_batch: int = 512, sync_threads: int = 128) -> None:
        self._root = str(root.resolve())
        self._max_batch = max_batch
        self._sync_threads = sync_threads
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._synced: queue.SimpleQueue[list[_Pending] | None] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._publisher: threading.Thread | None = None
        self._sync_pool: ThreadPoolExecutor | None = None
        self._folders: set[str] = set()  # folders known to exist (touched by the threads only)
        self.batches = 0  # batches committed, for tests and metrics

    async def write(self, relative: str, data: bytes, *, claim: str | None = None) -> str:
        """Store `data` at `root/relative`; returns once it is durable, raises if it is not.

        Returns the relative name holding `data`: `relative`, or with `claim` the file
        another write (of any process) already landed under the same claim.
        """
        inside_key(relative, store="writer's root")
        if claim is not None:
            inside_key(claim, store="writer's root")
        loop = asyncio.get_running_loop()
        pending = _Pending(
            relative=relative, data=data, loop=loop, done=loop.create_future(), claim=claim
        )
        self._ensure_started()
        self._queue.put(pending)
        return await pending.done

    def close(self) -> None:
        """Finish the queued writes, then stop the threads."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            publisher, self._publisher = self._publisher, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        if publisher is not None:
            publisher.join()
        if self._sync_pool is not None:
            self._sync_pool.shutdown()
            self._sync_pool = None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._publisher = threading.Thread(
                    target=self._publish_batches, name="webhook-group-publish", daemon=True
                )
                self._publisher.start()
                self._thread = threading.Thread(
                    target=self._run, name="webhook-group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        """First half: take what is queued as a batch, write and sync its files."""
        while True:
            first = self._queue.get()
            if first is None:
                self._synced.put(None)
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._stage(batch)
            except BaseException as error:  # a bug here must fail requests, not hang them
                for pending in batch:
                    pending.error = pending.error or error
            self._synced.put(batch)
            if stop:
                self._synced.put(None)
                return

    def _publish_batches(self) -> None:
        """Second half: rename a synced batch into place, sync its folders, tell the requests."""
        while True:
            batch = self._synced.get()
            if batch is None:
                return
            stop = False
            # Every batch synced meanwhile joins this one: one folder sync names them all.
            while True:
                try:
                    more = self._synced.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            try:
                self._publish(batch)
            except BaseException as error:  # a bug here must fail requests, not hang them
                for pending in batch:
                    pending.error = pending.error or error
            self.batches += 1
            _settle(batch)
            if stop:
                return

    def _stage(self, batch: Sequence[_Pending]) -> None:
        for pending in batch:
            try:
                self._write_temporary(pending)
            except Exception as error:
                pending.error = error
        self._sync_files([pending for pending in batch if pending.error is None])

    def _publish(self, batch: Sequence[_Pending]) -> None:
        staged = [pending for pending in batch if pending.descriptor is not None]
        folders: dict[str, list[_Pending]] = {}
        for pending in staged:
            assert pending.descriptor is not None
            assert pending.temporary is not None and pending.target is not None
            os.close(pending.descriptor)
            pending.descriptor = None
            if pending.error is None:
                try:
                    os.replace(pending.temporary, pending.target)
                except Exception as error:
                    pending.error = error
                else:
                    folders.setdefault(os.path.dirname(pending.target), []).append(pending)
                    pending.stored_as = pending.relative
                    continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pending.temporary)
        for pending in staged:
            if pending.error is None and pending.claim is not None:
                try:
                    claim_folder = self._claim(pending)
                except Exception as error:
                    pending.error = error
                else:
                    folders.setdefault(claim_folder, []).append(pending)
        outcomes = self._parallel(_fsync_folder, list(folders))
        for renamed, outcome in zip(folders.values(), outcomes, strict=True):
            if outcome is not None:  # on disk, but not durably: the requests must fail
                for pending in renamed:
                    pending.error = outcome

    def _claim(self, pending: _Pending) -> str:
        """Claim the content for `pending`'s file, or find and keep another's; the claim's folder."""
        assert pending.claim is not None and pending.target is not None
        claim = os.path.join(self._root, pending.claim)
        folder = os.path.dirname(claim)
        self._make_folder(folder)
        try:
            os.link(pending.target, claim)
            return folder
        except FileExistsError:
            found = os.lstat(claim)
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            # A file system without hard links: a symbolic link naming the file claims it.
            try:
                os.symlink(pending.relative, claim)
                return folder
            except FileExistsError:
                found = os.lstat(claim)
        if stat.S_ISLNK(found.st_mode):  # an earlier version's claim: it names the file
            holder = os.readlink(claim)
            if holder != pending.relative and os.path.exists(
                os.path.join(self._root, inside_key(holder, store="writer's root"))
            ):
                os.unlink(pending.target)  # the content is already landed under `holder`
                pending.stored_as = holder
                return folder
        elif found.st_nlink > 1:  # the claimed file is still landed under its name
            os.unlink(pending.target)
            pending.stored_as = pending.claim  # the claim is a link to the same bytes
            return folder
        # The claimed file is gone (removed since): this write takes the claim over.
        link = os.path.join(folder, f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}")
        try:
            os.link(pending.target, link)
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            os.symlink(pending.relative, link)
        os.replace(link, claim)
        return folder

    def _make_folder(self, folder: str) -> None:
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    def _write_temporary(self, pending: _Pending) -> None:
        target = os.path.join(self._root, pending.relative)
        folder = os.path.dirname(target)
        self._make_folder(folder)
        temporary = os.path.join(folder, f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # the folder was removed since we made it
            self._folders.discard(folder)
            self._make_folder(folder)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(pending.data)
            while view:
                view = view[os.write(descriptor, view) :]
        except BaseException:
            os.close(descriptor)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        pending.descriptor, pending.temporary, pending.target = descriptor, temporary, target

    def _sync_files(self, staged: Sequence[_Pending]) -> None:
        outcomes = self._parallel(_fsync_outcome, [pending.descriptor for pending in staged])
        for pending, outcome in zip(staged, outcomes, strict=True):
            pending.error = outcome

    def _parallel(
        self, sync: Callable[[_T], BaseException | None], items: Sequence[_T]
    ) -> list[BaseException | None]:
        """`sync` of every item at once (the file system merges concurrent syncs)."""
        if len(items) <= 1:
            return [sync(item) for item in items]
        if self._sync_pool is None:
            self._sync_pool = ThreadPoolExecutor(
                self._sync_threads, thread_name_prefix="webhook-fsync"
            )
        return list(self._sync_pool.map(sync, items))


def _fsync_outcome(descriptor: int | None) -> BaseException | None:
    assert descriptor is not None
    try:
        os.fsync(descriptor)
    except Exception as error:
        return error
    return None


def _fsync_folder(folder: str) -> BaseException | None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except Exception as error:
        return error
    try:
        os.fsync(descriptor)
    except Exception as error:
        return error
    finally:
        os.close(descriptor)
    return None


def _settle(batch: Sequence[_Pending]) -> None:
    """Tell each awaiting request its outcome, on its own event loop, one hop per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        by_loop.setdefault(pending.loop, []).append(pending)
    for loop, items in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: Sequence[_Pending]) -> None:
    for pending in items:
        if pending.done.done():
            continue
        if pending.error is None:
            pending.done.set_result(pending.stored_as or pending.relative)
        else:
            pending.done.set_exception(pending.error)
