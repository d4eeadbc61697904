"""Arrow schemas of the parser records, so that rows can be written a batch at a time.

Writing an export's rows batch by batch to one Parquet file needs one schema
for every batch: inferred per batch, a column that happens to be empty in one
batch (no media in its 10,000 messages) would change type between batches.
The schema follows the record's type hints: `str` → string, `datetime` → UTC
timestamp, `bool` → boolean, `int` → int64, each nullable.
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from datetime import datetime
from typing import Any

import pyarrow as pa

from wareader_pipelines.parsing.records import MessageRecord, QuarantineRecord

_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    datetime: pa.timestamp("ns", tz="UTC"),
    bool: pa.bool_(),
    int: pa.int64(),
}


def schema_of(record_type: type) -> pa.Schema:
    """The Arrow schema of a record dataclass: one nullable column per field, in order."""
    hints = typing.get_type_hints(record_type)
    fields = []
    for spec in dataclasses.fields(record_type):
        hint = hints[spec.name]
        if isinstance(hint, types.UnionType):  # "str | None"
            (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        fields.append(pa.field(spec.name, _ARROW_TYPES[hint]))
    return pa.schema(fields)


MESSAGE_SCHEMA = schema_of(MessageRecord)
QUARANTINE_SCHEMA = schema_of(QuarantineRecord)


def arrow_of(records: list[Any], schema: pa.Schema) -> pa.Table:
    """The records as an Arrow table of `schema` (whose names are the records' fields)."""
    return pa.Table.from_pydict(
        {name: list(map(operator.attrgetter(name), records)) for name in schema.names},
        schema=schema,
    )
