"""The group-commit writer called directly: whole files, batching, per-file failures."""

from __future__ import annotations

import asyncio
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
    assert stored[0] == stored[1] in {"day/a.json", "day/b.json"}
    assert stored[2] == "day/c.json"
    assert _files(tmp_path / "day") == {
        stored[0].removeprefix("day/"): b"same body",
        "c.json": b"other body",
    }
    assert os.readlink(tmp_path / "claims/day/sha") == stored[0]


def test_a_claim_whose_file_is_gone_is_taken_over(tmp_path: Path) -> None:
    writer = GroupCommitWriter(tmp_path)
    (tmp_path / "claims").mkdir()
    os.symlink("day/removed.json", tmp_path / "claims/sha")
    try:
        stored = asyncio.run(writer.write("day/new.json", b"body", claim="claims/sha"))
    finally:
        writer.close()
    assert stored == "day/new.json"
    assert (tmp_path / "day/new.json").read_bytes() == b"body"
    assert os.readlink(tmp_path / "claims/sha") == "day/new.json"
