"""Masking of personal data in message text: phone numbers, e-mail addresses, URLs.

Analysts see `text_redacted`, so it must not carry contact details. Phone numbers are
found by libphonenumber (`PhoneNumberMatcher`, leniency VALID): it knows every country's
numbering plan but is slow, so it only runs on texts that a cheap regex says hold a run of
at least seven digits. Matching is done on the text, not on spaCy tokens (the tokenizer
splits "123-4567").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

from wareader_pipelines.nlp.text import URL_PATTERN

PHONE_MASK = "[PHONE]"
EMAIL_MASK = "[EMAIL]"
URL_MASK = "[URL]"

EMAIL_PATTERN = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
# Seven digits with at most three separators (spaces, dashes, dots, brackets, slashes)
# between neighbours: every phone number has such a run, most chat messages do not.
_PHONE_CANDIDATE = re.compile(r"\d(?:[\s\-./()]{0,3}\d){6}")
# A bare run of 10 to 15 digits: international numbers written the way WhatsApp ids are
# (E.164 without "+", "5511987654321"), which no default region reads as valid.
_BARE_INTERNATIONAL = re.compile(r"(?<![\d+])\d{10,15}(?!\d)")


def redact(text: str, *, default_region: str = "US") -> str:
    """`text` with e-mail addresses, URLs and phone numbers replaced by [EMAIL], [URL], [PHONE].

    `default_region` (ISO 3166-1 alpha-2) is how numbers written without "+" and country
    code are read: "030 1234567" is a Berlin number only for region "DE".
    E-mails go first (their domain looks like a URL), then URLs (their digits are not phone
    numbers).
    """
    if "@" in text:
        text = EMAIL_PATTERN.sub(EMAIL_MASK, text)
    if "." in text:
        text = URL_PATTERN.sub(URL_MASK, text)
    if _PHONE_CANDIDATE.search(text) is not None:
        text = _BARE_INTERNATIONAL.sub(
            _masked_if_international_number, mask_phone_numbers(text, default_region)
        )
    return text


def mask_phone_numbers(text: str, default_region: str = "US") -> str:
    """`text` with every valid phone number libphonenumber finds replaced by [PHONE].

    The regex pre-check keeps libphonenumber (slow) off texts with no seven-digit run.
    """
    if _PHONE_CANDIDATE.search(text) is None:
        return text
    matches = list(PhoneNumberMatcher(text, default_region, leniency=Leniency.VALID))
    for match in reversed(matches):
        text = text[: match.start] + PHONE_MASK + text[match.end :]
    return text


class PhoneRedactor:
    """Masks phone numbers only (links and addresses stay), and the known numbers of senders.

    For archives, whose readers should still see the links and addresses their
    conversation shared. Senders' numbers arrive as bare digits (`wa_id`, "34612345678"),
    which libphonenumber cannot place without a "+"; they are masked wherever they occur
    as a digit run.
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
        return mask_phone_numbers(text, self.default_region)


def _masked_if_international_number(match: re.Match[str]) -> str:
    digits = match.group(0)
    return PHONE_MASK if region_of_phone_digits(digits) and phone_digits("+" + digits) else digits


def phone_digits(value: str, default_region: str = "US") -> str | None:
    """The E.164 digits (no "+") of `value` when it is a valid phone number, else None.

    Exports name unsaved contacts by their number ("+34 612 34 56 78"); this turns such a
    name into the same key a webhook's `wa_id` gives ("34612345678").
    """
    if sum(c.isdigit() for c in value) < 7:
        return None
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164).lstrip("+")


def region_of_phone_digits(digits: str) -> str | None:
    """The region (ISO 3166-1 alpha-2) of an E.164 number given as digits, or None.

    Used to read the numbers a person writes in their own national format: a Spanish
    sender's "612 34 56 78" is only a phone number under region "ES".
    """
    if not digits.isdigit():
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None
