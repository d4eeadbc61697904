"""Text every warehouse can store: lone surrogates replaced, NUL characters removed.

JSON may escape any code unit, so a webhook body can decode to a `str` holding
a lone surrogate (`"\\ud800"`), which DuckDB refuses to encode as UTF-8, or a
NUL (`"\\u0000"`), which PostgreSQL refuses in `text`. An export file may hold
NUL bytes too. Such text is repaired where it is read, and the row's
`text_repairs` column says what was changed, so one hostile message can
neither fail a run nor pass unnoticed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# In JSON text, the escapes that can decode to NUL or to a surrogate (paired ones included:
# they decode to one character, so this only selects the bodies worth a closer look).
JSON_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def is_storable(text: str) -> bool:
    """Whether DuckDB and PostgreSQL can both store `text` as it is."""
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> tuple[str, str | None]:
    """`text` made storable, and what was done to it (None when nothing was needed)."""
    if _UNSTORABLE.search(text) is None:
        return text, None
    done: list[str] = []
    nuls = text.count("\x00")
    if nuls:
        text = text.replace("\x00", "")
        done.append(f"{nuls} NUL removed")
    repaired, surrogates = _SURROGATES.subn(REPLACEMENT, text)
    if surrogates:
        done.append(
            f"{surrogates} lone surrogate{'s' if surrogates > 1 else ''} replaced by U+FFFD"
        )
    return repaired, ", ".join(done)


def repair_record(record: Any, *, note_field: str | None = None) -> str | None:
    """Make every text field of a parser record storable, in place; what was done, per field.

    With `note_field`, the summary is also written to that field of the record
    (appended to what it already says).
    """
    notes: list[str] = []
    for spec in dataclasses.fields(record):
        if spec.name == note_field:
            continue
        value = getattr(record, spec.name)
        if isinstance(value, str):
            repaired, note = storable(value)
            if note is not None:
                setattr(record, spec.name, repaired)
                notes.append(f"{spec.name}: {note}")
    if not notes:
        return None
    summary = "; ".join(notes)
    if note_field is not None:
        previous = getattr(record, note_field)
        setattr(record, note_field, f"{previous}; {summary}" if previous else summary)
    return summary
