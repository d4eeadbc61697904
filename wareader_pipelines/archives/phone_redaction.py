"""Phone-number masking for archives: only phone numbers, since the people who receive an
archive should still read the links and addresses their conversation shared."""

from __future__ import annotations

import re
from collections.abc import Iterable

from phonenumbers import Leniency, PhoneNumberMatcher

PHONE_MASK = "[PHONE]"
# A run of seven digits with few separators: every phone number has one, most texts not.
_PHONE_CANDIDATE = re.compile(r"\d(?:[\s\-./()]{0,3}\d){6}")


class PhoneRedactor:
    """Masks phone numbers found by libphonenumber, and the known numbers of the senders.

    Senders' numbers arrive as bare digits (`wa_id`, "34612345678"), which libphonenumber
    cannot place without a "+"; they are masked wherever they occur as a digit run.
    """

    def __init__(self, *, default_region: str = "US", known_numbers: Iterable[str] = ()) -> None:
        self.default_region = default_region
        digits = sorted(
            {n for n in known_numbers if n and n.isdigit() and len(n) >= 7}, key=len, reverse=True
        )
        self._known = (
            re.compile(r"(?<!\d)\+?(?:" + "|".join(map(re.escape, digits)) + r")(?!\d)")
            if digits
            else None
        )

    def __call__(self, text: str) -> str:
        """`text` with every phone number replaced by [PHONE]."""
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(PHONE_MASK, text)
        if _PHONE_CANDIDATE.search(text) is None:
            return text
        matches = list(PhoneNumberMatcher(text, self.default_region, leniency=Leniency.VALID))
        for match in reversed(matches):
            text = text[: match.start] + PHONE_MASK + text[match.end :]
        return text


def keep_phone_numbers(text: str) -> str:
    """The identity: used when configuration allows phone numbers in archives."""
    return text
