"""`RepeatedDigests` counts a file's repeated digests as a dictionary read one by one does,
whatever the blocks, also where digests share their first bits or bytes (issue 13)."""

from __future__ import annotations

import random

import pytest

from wareader_pipelines.parsing.repeated_digests import DIGEST_BYTES, RepeatedDigests


def _digests(count: int, seed: int) -> list[bytes]:
    """Digests that repeat near and far, and share their first 4 bytes (under the 36 bits
    sorted on), first 5 bytes or first 8 bytes (the whole sort key) with others."""
    chooser = random.Random(seed)
    kinds: list[bytes] = []
    made: list[bytes] = []
    for _ in range(count):
        roll = chooser.random()
        if made and roll < 0.15:  # an earlier digest again
            made.append(chooser.choice(made[-5:] if chooser.random() < 0.5 else made))
            continue
        fresh = chooser.randbytes(DIGEST_BYTES)
        if kinds and roll < 0.45:  # an earlier first 4, 5 or 8 bytes, the rest its own
            shared = chooser.choice((4, 5, 8))
            fresh = chooser.choice(kinds)[:shared] + fresh[shared:]
        kinds.append(fresh)
        made.append(fresh)
    return made


def _counted_one_by_one(digests: list[bytes]) -> list[tuple[int, int]]:
    seen: dict[bytes, int] = {}
    repeats = []
    for position, digest in enumerate(digests):
        before = seen.get(digest, 0)
        if before:
            repeats.append((position, before))
        seen[digest] = before + 1
    return repeats


@pytest.mark.parametrize("block", [1, 7, 250, 5000])
@pytest.mark.parametrize("seed", [1, 2])
def test_repeats_counted_by_blocks_are_those_counted_one_by_one(block: int, seed: int) -> None:
    digests = _digests(5000, seed)
    expected = _counted_one_by_one(digests)
    assert len(expected) > 500  # the test has repeats of every kind to find
    counter = RepeatedDigests()
    found = []
    for start in range(0, len(digests), block):
        joined = b"".join(digests[start : start + block])
        found += [(start + at, before) for at, before in counter.repeats(joined)]
    assert found == expected


def test_a_digest_sharing_its_first_bytes_with_an_earlier_one_is_new() -> None:
    first = bytes(range(12))
    same_eight = first[:8] + b"\xff" * 4
    counter = RepeatedDigests()
    assert counter.repeats(first + same_eight) == []
    assert counter.repeats(same_eight + first + same_eight) == [(0, 1), (1, 1), (2, 2)]
    assert counter.repeats(b"") == []
