"""The group-commit writer called directly: whole files, batching, per-file failures."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

import pytest

from wareader_pipelines.webhook_receiver import group_commit
from wareader_pipelines.webhook_receiver.group_commit import TEMPORARY_PREFIX, GroupCommitWriter


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def test_writes_queued_while_a_batch_syncs_become_the_next_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches grow with load: the 299 writes that queue while the first one syncs share
    the next batch. The first sync is held until they are queued, so no timing decides."""
    syncing, release = threading.Event(), threading.Event()
    fsync = os.fsync

    def held_first_fsync(descriptor: int) -> None:
        if not syncing.is_set():
            syncing.set()
            release.wait(timeout=30)
        fsync(descriptor)

    monkeypatch.setattr(group_commit.os, "fsync", held_first_fsync)
    writer = GroupCommitWriter(tmp_path)
    expected = {
        f"day={n % 3}/{n:04d}.json": (f"body {n} ✓ " * (n + 1)).encode() for n in range(300)
    }
    items = list(expected.items())

    async def write_all() -> None:
        first = asyncio.ensure_future(writer.write(*items[0]))
        while not syncing.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(writer.write(key, data)) for key, data in items[1:]]
        await asyncio.sleep(0)  # each write queues its file before it awaits
        release.set()
        await asyncio.gather(first, *rest)

    try:
        asyncio.run(write_all())
    finally:
        release.set()
        writer.close()
    assert _files(tmp_path) == expected  # every file whole, no temporaries left
    assert writer.batches == 2


def test_a_lone_write_is_committed_without_waiting_for_company(tmp_path: Path) -> None:
    writer = GroupCommitWriter(tmp_path)

    async def one_by_one() -> None:
        for n in range(3):
            await asyncio.wait_for(writer.write(f"a/{n}.json", b"x" * n), timeout=30)

    try:
        asyncio.run(one_by_one())
    finally:
        writer.close()
    assert writer.batches == 3
    assert _files(tmp_path) == {"a/0.json": b"", "a/1.json": b"x", "a/2.json": b"xx"}


def test_a_write_is_answered_only_after_its_data_name_and_claim_are_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The durability order, per file, with batches merged and folders synced in parallel:
    fsync of the data before the rename, the rename and the claim before the fsync of
    their folders, and all of it before the write returns."""
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    fsync, replace, link = os.fsync, os.replace, os.link

    def record(kind: str, path: str) -> None:
        with lock:
            events.append((kind, path))

    def traced_fsync(descriptor: int) -> None:
        path = os.readlink(f"/proc/self/fd/{descriptor}")
        fsync(descriptor)
        record("fsync", path)

    temporaries: dict[str, str] = {}

    def traced_replace(source: str, target: str) -> None:
        replace(source, target)
        temporaries[str(target)] = str(source)
        record("rename", str(target))

    def traced_link(source: str, target: str) -> None:
        link(source, target)
        record("link", str(target))

    monkeypatch.setattr(group_commit.os, "fsync", traced_fsync)
    monkeypatch.setattr(group_commit.os, "replace", traced_replace)
    monkeypatch.setattr(group_commit.os, "link", traced_link)
    writer = GroupCommitWriter(tmp_path)
    root = tmp_path.resolve()

    async def write(n: int) -> None:
        await writer.write(f"day/{n}.json", b"x" * n, claim=f"claims/day/{n}")
        record("answered", str(root / f"day/{n}.json"))

    async def write_all() -> None:
        await asyncio.gather(*(write(n) for n in range(60)))

    try:
        asyncio.run(write_all())
    finally:
        writer.close()
    order = {event: index for index, event in enumerate(events)}

    def last(kind: str, path: Path) -> int:
        return max(index for index, event in enumerate(events) if event == (kind, str(path)))

    for n in range(60):
        target, claim = root / f"day/{n}.json", root / f"claims/day/{n}"
        renamed, linked = order[("rename", str(target))], order[("link", str(claim))]
        temporary = temporaries[str(target)]
        assert TEMPORARY_PREFIX in temporary
        assert order[("fsync", temporary)] < renamed < linked
        answered = order[("answered", str(target))]
        # a sync of each folder after the rename (or link) and before the answer
        assert any(
            renamed < index < answered
            for index, event in enumerate(events)
            if event == ("fsync", str(root / "day"))
        )
        assert linked < last("fsync", root / "claims/day") and any(
            linked < index < answered
            for index, event in enumerate(events)
            if event == ("fsync", str(root / "claims/day"))
        )
    assert _files(tmp_path / "day") == {f"{n}.json": b"x" * n for n in range(60)}


def test_a_failed_file_fails_only_its_own_write(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    writer = GroupCommitWriter(tmp_path)

    async def mixed() -> list[BaseException | str]:
        return await asyncio.gather(
            writer.write("ok/1.json", b"one"),
            writer.write("blocked/2.json", b"two"),
            writer.write("ok/3.json", b"three"),
            return_exceptions=True,
        )

    try:
        outcomes = asyncio.run(mixed())
    finally:
        writer.close()
    assert (outcomes[0], outcomes[2]) == ("ok/1.json", "ok/3.json")  # the names holding them
    assert isinstance(outcomes[1], OSError)
    assert _files(tmp_path / "ok") == {"1.json": b"one", "3.json": b"three"}
    assert not list(tmp_path.rglob(f"{TEMPORARY_PREFIX}*"))


def test_a_folder_removed_behind_its_back_is_made_again(tmp_path: Path) -> None:
    writer = GroupCommitWriter(tmp_path)

    async def twice() -> None:
        await writer.write("d/1.json", b"1")
        (tmp_path / "d" / "1.json").unlink()
        (tmp_path / "d").rmdir()
        await writer.write("d/2.json", b"2")

    try:
        asyncio.run(twice())
    finally:
        writer.close()
    assert _files(tmp_path) == {"d/2.json": b"2"}


@pytest.mark.parametrize("relative", ["../outside.json", "/etc/x.json", "a/../../b.json"])
def test_paths_outside_the_root_are_refused(tmp_path: Path, relative: str) -> None:
    writer = GroupCommitWriter(tmp_path / "root")
    try:
        with pytest.raises(ValueError, match="not a plain relative path"):
            asyncio.run(writer.write(relative, b"x"))
    finally:
        writer.close()
    assert not (tmp_path / "outside.json").exists()


def test_writers_sharing_a_folder_land_claimed_content_once(tmp_path: Path) -> None:
    """Two writers (as two receiver processes would) race the same content under
    different names: one file stays, and both report its name."""
    first, second = GroupCommitWriter(tmp_path), GroupCommitWriter(tmp_path)

    async def race() -> list[str]:
        return list(
            await asyncio.gather(
                first.write("day/a.json", b"same body", claim="claims/day/sha"),
                second.write("day/b.json", b"same body", claim="claims/day/sha"),
                second.write("day/c.json", b"other body", claim="claims/day/other"),
            )
        )

    try:
        stored = asyncio.run(race())
    finally:
        first.close()
        second.close()
    landed = [name for name in stored[:2] if name.startswith("day/")]
    assert len(landed) == 1 and sorted(stored[:2]) == sorted([*landed, "claims/day/sha"])
    assert stored[2] == "day/c.json"
    assert _files(tmp_path / "day") == {
        landed[0].removeprefix("day/"): b"same body",
        "c.json": b"other body",
    }
    # The claim is a hard link to the landed file (no inode of its own).
    assert os.path.samefile(tmp_path / "claims/day/sha", tmp_path / landed[0])
    assert os.path.samefile(tmp_path / "claims/day/other", tmp_path / "day/c.json")


def test_a_claim_whose_file_is_gone_is_taken_over(tmp_path: Path) -> None:
    """A claim whose landed name was removed (link count 1) no longer guards anything."""
    writer = GroupCommitWriter(tmp_path)
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims/sha").write_bytes(b"body")  # its landed name removed since
    try:
        stored = asyncio.run(writer.write("day/new.json", b"body", claim="claims/sha"))
    finally:
        writer.close()
    assert stored == "day/new.json"
    assert (tmp_path / "day/new.json").read_bytes() == b"body"
    assert os.path.samefile(tmp_path / "claims/sha", tmp_path / "day/new.json")
    assert not [path for path in (tmp_path / "claims").iterdir() if path.name != "sha"]


@pytest.mark.parametrize("landed", [True, False])
def test_symbolic_link_claims_of_earlier_versions_are_honoured(
    tmp_path: Path, landed: bool
) -> None:
    """A receiver of the previous version (a rolling restart) claimed with a symbolic link
    naming its file: that file keeps the content while it exists, else the claim is taken."""
    writer = GroupCommitWriter(tmp_path)
    (tmp_path / "claims").mkdir()
    os.symlink("day/old.json", tmp_path / "claims/sha")
    if landed:
        (tmp_path / "day").mkdir()
        (tmp_path / "day/old.json").write_bytes(b"body")
    try:
        stored = asyncio.run(writer.write("day/new.json", b"body", claim="claims/sha"))
    finally:
        writer.close()
    if landed:
        assert stored == "day/old.json"
        assert not (tmp_path / "day/new.json").exists()
        assert os.readlink(tmp_path / "claims/sha") == "day/old.json"
    else:
        assert stored == "day/new.json"
        assert os.path.samefile(tmp_path / "claims/sha", tmp_path / "day/new.json")


def test_claims_fall_back_to_symbolic_links_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system that refuses link(2) the claim names the file instead."""

    def no_hard_links(source: str, target: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(group_commit.os, "link", no_hard_links)
    first, second = GroupCommitWriter(tmp_path), GroupCommitWriter(tmp_path)
    try:
        one = asyncio.run(first.write("day/a.json", b"same", claim="claims/sha"))
        two = asyncio.run(second.write("day/b.json", b"same", claim="claims/sha"))
    finally:
        first.close()
        second.close()
    assert one == two == "day/a.json"
    assert os.readlink(tmp_path / "claims/sha") == "day/a.json"
    assert _files(tmp_path / "day") == {"a.json": b"same"}
