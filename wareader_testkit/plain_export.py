"""A plain Android chat export of any size, for the memory test and benchmark of one export.

Five people over a year, some multi-line bodies, media markers and emoji (which make
decoded text four bytes a character), every header's time different.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

NAMES = ["Ana Souza", "Ben Carter", "Chloé Martin", "Dev Patel", "Eun-ji Park"]
WORDS = [
    "hola",
    "que",
    "tal",
    "bien",
    "gracias",
    "see",
    "you",
    "tomorrow",
    "ok",
    "merci",
    "beaucoup",
    "👍",
    "🎉",
    "café",
    "☕",
    "yes",
    "no",
]


def export_text(size: int, *, seed: int = 12) -> bytes:
    """An Android export of at most `size` bytes, ending with a whole line."""
    rng = random.Random(seed)
    at = datetime(2024, 1, 1, 8, 0)
    lines: list[str] = []
    total = 0
    while total < size:
        at += timedelta(seconds=rng.randint(30, 300))
        body = " ".join(rng.choices(WORDS, k=rng.randint(2, 14)))
        if rng.random() < 0.05:
            body += "\n" + " ".join(rng.choices(WORDS, k=rng.randint(2, 8)))
        if rng.random() < 0.03:
            body = "<Media omitted>"
        line = f"{at:%d/%m/%Y, %H:%M} - {rng.choice(NAMES)}: {body}\n"
        total += len(line.encode())
        lines.append(line)
    return "".join(lines).encode()[:size].rsplit(b"\n", 1)[0] + b"\n"
