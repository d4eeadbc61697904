"""The privacy scan: personal data found in the text cells of the tables analysts can read.

Independent of the masking code on purpose: phone numbers by libphonenumber's own matcher in
every region given (a find of at least seven digits: the shortest plans of any sizeable
country; read with fewer, every year and postcode would be one), e-mails by a plain pattern,
names by the participants' display names. A number written without "+" that the text itself
labels as a reference ("order #4521987", "Rechnung Nr. 30012345", "INV-2024-004512") is not
a phone number (issue 9 §4), unless written in spaced groups after a word ("order 612 34 56
78" is a phone); the labels and that rule are written here again, not imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
MIN_PHONE_DIGITS = 7
# Dates are not phone numbers, though some plans accept their digits ("2026-11-25.1", Angola).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:\.\d+)?|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,8}){7}")
_WORD = re.compile(r"[^\W\d_]{3,}")
# Letters and digits glued in one token (a hash, a base64 id): libphonenumber's matcher, at
# leniency VALID, rejects a number with a Latin letter right before or after it, so such
# tokens are not read for numbers (the ids of 100k rows would cost minutes).
_MIXED_TOKEN = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")
_MARK = re.compile(r"(?:#|\bn[º°]\.?|\bnr\.?|\bno\.|\b[A-Z]{2,6}-)\s*$")
_REFERENCE_WORD = re.compile(
    r"(?i:\b(?:order|invoice|ref|tracking|pedido|encomenda|factura|fatura|protocolo|bestell\w*|"
    r"rechnung\w*|commande|facture|ordine|fattura))\D{0,25}\s*$"
)


def _labelled_reference(cell: str, found: str) -> bool:
    """Whether `found` (no "+") follows a reference mark on its line in `cell`, or a
    reference word when it is written without spaces ("order 612 34 56 78" is a phone)."""
    start = cell.find(found)
    before = cell[max(0, start - 40) : start].rsplit("\n", 1)[-1]
    if "+" in found:
        return False
    if _MARK.search(before):
        return True
    return not any(c.isspace() for c in found) and bool(_REFERENCE_WORD.search(before))


def name_words(names: Iterable[str]) -> set[str]:
    """The words of at least three letters in display names, lower-cased."""
    return {w.casefold() for n in names if isinstance(n, str) for w in _WORD.findall(n)}


def scan(
    tables: Mapping[str, pd.DataFrame],
    regions: Sequence[str],
    names: set[str],
    wa_ids: Iterable[str],
) -> list[str]:
    """Every find, as "table.column: kind in 'cell'"; empty when the tables are clean.

    `names` are the name words (`name_words`) of every participant of every conversation,
    looked for in every cell of every table: a person named in another chat is found too.
    WhatsApp ids anywhere.
    """
    phonenumbers.enable_pattern_cache()  # ~150 regions' patterns outgrow the re module's cache
    ids = {w for w in wa_ids if isinstance(w, str) and len(w) >= 7}
    hits: list[str] = []
    finds: dict[str, list[str]] = {}  # a cell's finds, once per distinct cell of any table
    for table, frame in tables.items():
        for column in frame.columns:
            if frame[column].dtype != object:
                continue
            cells = {cell for cell in frame[column].tolist() if isinstance(cell, str) and cell}
            for cell in sorted(cells):
                found = finds.get(cell)
                if found is None:
                    found = finds[cell] = _finds(cell, regions, names, ids)
                hits += [f"{table}.{column}: {hit}" for hit in found]
    return hits


def _finds(cell: str, regions: Sequence[str], names: set[str], ids: set[str]) -> list[str]:
    found: list[str] = []
    if "@" in cell and EMAIL.search(cell):
        found.append(f"e-mail in {cell!r}")
    if any(i in cell for i in ids):
        found.append(f"WhatsApp id in {cell!r}")
    if _SEVEN_DIGITS.search(_MIXED_TOKEN.sub(" ", cell)):
        for region in regions:
            phones = [
                m.raw_string
                for m in PhoneNumberMatcher(cell, region, Leniency.VALID)
                if sum(c.isdigit() for c in m.raw_string) >= MIN_PHONE_DIGITS
                and not _DATE.fullmatch(m.raw_string)
                and not _labelled_reference(cell, m.raw_string)
            ]
            if phones:
                found.append(f"phone {phones} ({region}) in {cell!r}")
                break
    words = {w.casefold() for w in _WORD.findall(cell)}
    if names & words:
        found.append(f"name {sorted(names & words)} in {cell!r}")
    return found


def analyst_copy_tables(copy: Path) -> dict[str, pd.DataFrame]:
    """Every table of the analysts' DuckDB copy, as "schema.table": what the scans read."""
    with duckdb.connect(str(copy), read_only=True) as connection:
        names = connection.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {f"{s}.{t}": connection.execute(f'select * from "{s}"."{t}"').df() for s, t in names}
