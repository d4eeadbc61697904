"""The privacy scan: personal data found in the text cells of the tables analysts can read.

Independent of the masking code on purpose: phone numbers by libphonenumber's own matcher in
every region given (a find of at least seven digits: the shortest plans of any sizeable
country; read with fewer, every year and postcode would be one), e-mails by a plain pattern,
names by the participants' display names. A number written without "+" that the text itself
labels as a reference ("order #4521987", "Rechnung Nr. 30012345", "INV-2024-004512") is not
a phone number (issue 9 §4); the labels are listed here again, not imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
MIN_PHONE_DIGITS = 7
# Dates are not phone numbers, though some plans accept their digits ("2026-11-25.1", Angola).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:\.\d+)?|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,8}){7}")
_WORD = re.compile(r"[^\W\d_]{3,}")
_LABELLED = re.compile(
    r"(?:#|\bn[º°]\.?|\bnr\.?|\bno\.|\b[A-Z]{2,6}-|(?i:\b(?:order|invoice|ref|tracking|pedido|"
    r"encomenda|factura|fatura|protocolo|bestell\w*|rechnung\w*|commande|facture|ordine|"
    r"fattura))\D{0,25})\s*$"
)


def _labelled_reference(cell: str, found: str) -> bool:
    """Whether `found` (no "+") follows a reference label on its line in `cell`."""
    start = cell.find(found)
    before = cell[max(0, start - 40) : start].rsplit("\n", 1)[-1]
    return "+" not in found and bool(_LABELLED.search(before))


def name_words(names: Iterable[str]) -> set[str]:
    """The words of at least three letters in display names, lower-cased."""
    return {w.casefold() for n in names if isinstance(n, str) for w in _WORD.findall(n)}


def scan(
    tables: Mapping[str, pd.DataFrame],
    regions: Sequence[str],
    names_by_conversation: Mapping[str, set[str]],
    wa_ids: Iterable[str],
) -> list[str]:
    """Every find, as "table.column: kind in 'cell'"; empty when the tables are clean.

    A name word counts in a row of the conversation it belongs to (tables without a
    conversation_id are checked against every conversation's names); WhatsApp ids anywhere.
    """
    phonenumbers.enable_pattern_cache()  # ~150 regions' patterns outgrow the re module's cache
    ids = {w for w in wa_ids if isinstance(w, str) and len(w) >= 7}
    every_name = set().union(*names_by_conversation.values()) if names_by_conversation else set()
    hits: list[str] = []
    for table, frame in tables.items():
        conversations = (
            frame["conversation_id"].tolist() if "conversation_id" in frame else [None] * len(frame)
        )
        for column in frame.columns:
            if frame[column].dtype != object:
                continue
            for cell, conversation in zip(frame[column].tolist(), conversations, strict=True):
                if not isinstance(cell, str) or not cell:
                    continue
                where = f"{table}.{column}"
                if "@" in cell and EMAIL.search(cell):
                    hits.append(f"{where}: e-mail in {cell!r}")
                if _SEVEN_DIGITS.search(cell):
                    if any(i in cell for i in ids):
                        hits.append(f"{where}: WhatsApp id in {cell!r}")
                    for region in regions:
                        found = [
                            m.raw_string
                            for m in PhoneNumberMatcher(cell, region, Leniency.VALID)
                            if sum(c.isdigit() for c in m.raw_string) >= MIN_PHONE_DIGITS
                            and not _DATE.fullmatch(m.raw_string)
                            and not _labelled_reference(cell, m.raw_string)
                        ]
                        if found:
                            hits.append(f"{where}: phone {found} ({region}) in {cell!r}")
                            break
                names = names_by_conversation.get(conversation, every_name)
                words = {w.casefold() for w in _WORD.findall(cell)}
                if names & words:
                    hits.append(f"{where}: name {sorted(names & words)} in {cell!r}")
    return hits
