"""The national-number search finds what libphonenumber's matcher finds run in every region.

`nlp.pii._national_numbers` runs the matcher once without a region and then only in the
regions that could read one of the strings it tried differently. These tests compare it
with the plain way (the matcher in each region, spans united) on texts built to reach the
matcher's corners: numbers of every region in national, international, E.164 and RFC 3966
form, international and national prefixes, extensions, "x" and letters between digits,
non-ASCII digits, dates, times, amounts, coordinates and runs of several numbers.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from wareader_pipelines.nlp import pii
from wareader_pipelines.nlp.pii import (
    PiiMasker,
    _matches,
    _national_numbers,
    _regions_reading_differently,
    phone_regions,
)

ALL_REGIONS = phone_regions()
_FORMATS = (
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.E164,
    PhoneNumberFormat.RFC3966,
)
_TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)
_SEPARATORS = (" ", "-", ".", "/", " / ", "  ", "", "(", ")", " x ", "x", ", ", "~", "\u00a0")
_WORDS = ("call", "tel:", "Nr.", "#", "ext.", "ext 12", "anexo", "order", "é", "ab", "€", "%")
_PREFIXES = ("+", "00", "011", "0", "1", "8", "810", "+0", "+999", "＋", "0034", "(0)", "++")
_ODD_DIGITS = ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९")


def _example_numbers() -> list[str]:
    """Written forms of libphonenumber's example numbers of every region."""
    written = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                written += [phonenumbers.format_number(number, f) for f in _FORMATS]
    return written


_EXAMPLES = _example_numbers()


def _digits(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(low, high)))


def _piece(rng: random.Random) -> str:
    """A number-like piece of text."""
    kind = rng.randrange(7)
    if kind <= 1:
        return rng.choice(_EXAMPLES)
    if kind == 2:  # an example number re-grouped, behind some prefix
        digits = "".join(c for c in rng.choice(_EXAMPLES) if c.isdigit())
        cut = rng.randint(1, max(1, len(digits) - 1))
        return rng.choice(_PREFIXES) + digits[:cut] + rng.choice(_SEPARATORS) + digits[cut:]
    if kind == 3:  # random groups of digits
        groups = [_digits(rng, 1, 5) for _ in range(rng.randint(1, 5))]
        text = groups[0]
        for group in groups[1:]:
            text += rng.choice(_SEPARATORS) + group
        return rng.choice(("", *_PREFIXES)) + text
    if kind == 4:  # dates, times, amounts, coordinates, references
        return rng.choice(
            (
                f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1990, 2030)}",
                f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}",
                f"{rng.randint(1, 9_999_999):,}".replace(",", rng.choice(".,  ")),
                f"({rng.uniform(-90, 90):.6f}, {rng.uniform(-180, 180):.6f})",
                f"INV-{rng.randint(2000, 2030)}-{_digits(rng, 6, 6)}",
            )
        )
    if kind == 5:  # digits of another script
        script = rng.choice(_ODD_DIGITS)
        return "".join(script[int(c)] if c.isdigit() else c for c in rng.choice(_EXAMPLES))
    return _digits(rng, 6, 16)  # a bare run


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = [_piece(rng) for _ in range(rng.randint(1, 3))]
        text = ""
        for part in parts:
            text += rng.choice(("", " ", " y ", ", ", "\n", f" {rng.choice(_WORDS)} ")) + part
        texts.append(text + rng.choice(("", ".", " ok", "!", rng.choice(_WORDS))))
    return texts


def _every_region(text: str, regions: tuple[str, ...]) -> set[tuple[int, int]]:
    """The plain way: the matcher in each region."""
    return {(m.start, m.end) for region in regions for m in _matches(text, region)}


@pytest.mark.parametrize("seed", [1])
def test_the_spans_are_those_of_the_matcher_run_in_every_region(seed: int) -> None:
    PiiMasker(ALL_REGIONS)  # enables libphonenumber's pattern cache, as cleaning does
    texts = _texts(seed, 120)
    for text in texts:
        assert set(_national_numbers(text, ALL_REGIONS)) == _every_region(text, ALL_REGIONS), text
    # the comparison is not empty: the texts hold numbers of many regions
    found = sum(bool(_every_region(t, ALL_REGIONS)) for t in texts[:40])
    assert found > 10


@pytest.mark.parametrize(
    "text",
    [
        "+34 612 34 56 78",  # international: read alike everywhere
        "0034 612 34 56 78",  # an international prefix ("00" in most regions)
        "011 34 612 34 56 78",  # the North American one
        "(0)30 1234567",  # a national prefix in brackets
        "030 1234567 x 12",  # an extension
        "+0 612345678",  # an unknown country code: regions retry the digits without "+"
        "+999 612345678",
        "5 12 34 5678 / 12",
        "1x2x3x4567890",  # letters read as a keypad when there are three
        "٠٣٠ ١٢٣٤٥٦٧",  # Arabic-Indic digits
        "15 3456 7890 and 011 44 20 7946 0958 or 5511987654321",
        "0 11 15 2345-6789",  # Argentina's national prefix transformation
        "268 4601234",  # local seven digits some +1 regions prefix with their area code
    ],
)
def test_corner_cases_match_the_matcher_in_every_region(text: str) -> None:
    PiiMasker(ALL_REGIONS)
    assert set(_national_numbers(text, ALL_REGIONS)) == _every_region(text, ALL_REGIONS)


def test_most_regions_are_skipped_for_a_national_number() -> None:
    # The gain: a Spanish mobile number written nationally is read in a few regions only.
    readers = _regions_reading_differently("612345678")
    assert "ES" in readers
    assert len(readers) < len(ALL_REGIONS) // 4


@pytest.mark.parametrize(
    "text",
    [
        "Centro (-39.920222, -73.402257)",  # a shared location, as the parser writes it
        "Centro (27.693624, -71.393973)",
        "(-9.60617, 3.516444) y 612 34 56 78",
    ],
)
def test_a_location_runs_no_region_s_matcher_over_the_text(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regions that read a fraction's six digits as a number (too short to keep) go on
    where the regionless matcher does: none needs its own run over the text, and the spans
    are still those of every region's run."""
    PiiMasker(ALL_REGIONS)
    expected = _every_region(text, ALL_REGIONS)
    runs: list[str] = []
    monkeypatch.setattr(
        pii, "_matches", lambda text, region: runs.append(region) or _matches(text, region)
    )
    _national_numbers.cache_clear()
    assert set(_national_numbers(text, ALL_REGIONS)) == expected
    assert runs == []


def test_a_text_the_matcher_gives_up_on_is_read_in_every_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the regionless matcher runs out of tries, a region with tries left could cut
    candidates it never saw: each region that could read a string is run over the text."""
    PiiMasker(ALL_REGIONS)
    monkeypatch.setattr(pii._RecordingMatcher, "out_of_tries", lambda self: True)
    _national_numbers.cache_clear()
    for text in [*_texts(3, 12), "0034 612 34 56 78 and +0 612345678", "268 4601234"]:
        assert set(_national_numbers(text, ALL_REGIONS)) == _every_region(text, ALL_REGIONS)
    _national_numbers.cache_clear()


def test_the_strings_noted_are_those_the_matcher_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_reaches_parse` repeats the checks libphonenumber's matcher makes before it parses a
    string: a string it refuses that the library parses would be a region never asked."""
    from phonenumbers import phonenumbermatcher

    parsed: list[str] = []
    library_parse = phonenumbermatcher.parse

    def recording_parse(number: str, region: str | None, **options: bool) -> object:
        parsed.append(number)
        return library_parse(number, region, **options)

    monkeypatch.setattr(phonenumbermatcher, "parse", recording_parse)
    texts = [*_texts(5, 60), "abc8005001234", "8005001234def", "€612345678", "612345678%"]
    for text in [*texts, "(-39.920222, -73.402257) [12] 3/4 (55) 11)"]:
        parsed.clear()
        recording = pii._RecordingMatcher(text)
        list(recording)
        assert [p for c in recording.candidates for p, _ in c.tries] == parsed, text
