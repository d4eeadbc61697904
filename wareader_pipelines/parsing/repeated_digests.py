"""Which message digests of a file came before, counted a block at a time with NumPy.

A message's id hashes its key with how many times the same key came before it in the
file (see `chat_export._message_id`). Counting that with a dictionary call per message
costs over a third of the hashing itself, although nearly every digest is new (~0.2 % repeat
in a generated chat). Here a block's digests are sorted by their first bits, and only
the few whose first bits came before are looked at one by one, with their whole bytes.
"""

from __future__ import annotations

import numpy as np

DIGEST_BYTES = 12
POSITION_BITS = 28
"""A sort key is a digest's first 36 bits over its position in the file (below 2**28)."""
_POSITIONS = np.uint64((1 << POSITION_BITS) - 1)
_SHIFT = np.uint64(POSITION_BITS)


class RepeatedDigests:
    """The digests of one file seen so far, block by block.

    Kept for the file: every digest's bytes, their sort keys (first 36 bits, then the
    position) in order, and how often each digest whose first bits came before has been
    met. Among the digests sharing their first bits, the earliest is the only one not
    counted in that dictionary, so a digest met again is either counted there or equal
    to that earliest one.
    """

    def __init__(self) -> None:
        self._digests = bytearray()  # every digest of the file, in file order
        self._keys = np.empty(0, np.uint64)  # their sort keys, sorted
        self._counts: dict[bytes, int] = {}

    def repeats(self, joined: bytes) -> list[tuple[int, int]]:
        """For the file's next digests (`DIGEST_BYTES` each, joined, in file order): the
        position among them and the number of earlier occurrences in the file of each one
        that came before, in order; they are then counted as seen."""
        count, odd = divmod(len(joined), DIGEST_BYTES)
        assert not odd, "whole digests"
        base = len(self._digests) // DIGEST_BYTES
        if base + count > 1 << POSITION_BITS:
            raise ValueError(f"a file of over {1 << POSITION_BITS:,} messages")
        if not count:
            return []
        self._digests += joined
        words = np.ndarray((count,), "<u8", np.frombuffer(joined, np.uint8), 0, (DIGEST_BYTES,))
        keys = (words >> _SHIFT << _SHIFT) | np.arange(base, base + count, dtype=np.uint64)
        keys.sort()
        firsts = keys >> _SHIFT
        # The earliest key of each one's first bits: the file's, or the block's own.
        at = np.searchsorted(self._keys, firsts << _SHIFT)
        earliest = keys.copy()
        insert_at = at  # where each key goes among the file's: after those of its first bits
        if len(self._keys):
            known = self._keys[np.minimum(at, len(self._keys) - 1)] >> _SHIFT == firsts
            earliest[known] = self._keys[at[known]]
            if known.any():
                insert_at = at.copy()
                insert_at[known] = np.searchsorted(self._keys, keys[known])
        run_starts = np.flatnonzero(np.concatenate(((True,), firsts[1:] != firsts[:-1])))
        runs = np.repeat(run_starts, np.diff(np.append(run_starts, count)))
        earliest = np.where(earliest == keys, keys[runs], earliest)
        met = np.flatnonzero(earliest != keys)  # first bits seen before: a candidate
        found: list[tuple[int, int]] = []
        if len(met):
            positions = keys[met] & _POSITIONS
            earliest_positions = earliest[met] & _POSITIONS
            in_order = np.argsort(positions)
            for position, earliest_at in zip(
                positions[in_order].tolist(), earliest_positions[in_order].tolist(), strict=True
            ):
                digest = self._digest(position)
                before = self._counts.get(digest)
                if before is None:  # the earliest one's digest again, or another
                    before = int(self._digest(earliest_at) == digest)
                self._counts[digest] = before + 1
                if before:
                    found.append((position - base, before))
        self._keys = _merged(self._keys, keys, insert_at)
        return found

    def _digest(self, position: int) -> bytes:
        return bytes(self._digests[position * DIGEST_BYTES : (position + 1) * DIGEST_BYTES])


def _merged(kept: np.ndarray, new: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Sorted `kept` and sorted `new` as one sorted array, `at` being where each of `new`
    goes in `kept` (`np.searchsorted(kept, new)`): one pass, not a sort."""
    merged = np.empty(len(kept) + len(new), kept.dtype)
    places = at + np.arange(len(new))
    taken = np.ones(len(merged), bool)
    taken[places] = False
    merged[places] = new
    merged[taken] = kept
    return merged
