"""Masking of personal data in message text: phone numbers, e-mail addresses, URLs, names.

Analysts see `cleaned_messages`, so its text must not carry contact details or the names of
the people in the chat. Each find becomes a typed mask (`[PHONE]`, `[EMAIL]`, `[URL]`,
`[NAME]`) in place of exactly the characters it covers: the brackets, punctuation and line
breaks around it stay as written.

Phone numbers are found by libphonenumber (`PhoneNumberMatcher`, leniency VALID): in the
sender's own region, then in every region the deployment's languages imply
(`phone_regions`), so that a Spaniard's `912 345 678` and a French `06 12 34 56 78` are
masked in the same chat. A phone number has at least `MIN_PHONE_DIGITS` digits. Matching
is slow, so a text is only read in the regions whose shortest number fits its longest run
of digits, and once per process; and the matcher runs once without a region, then each
string it parsed is parsed again only in the regions that could read it as a valid number
(about 1 in 10 for a national number when all ~245 regions are read), and a region's
matcher runs over the text only when the number it reads there would send it elsewhere
(see `_national_numbers`): the spans are those of the matcher run in every region.
With many regions (a deployment of any language reads all of them) almost any run of seven or
more digits is some region's valid number, so validity alone would mask order numbers,
invoice ids and references too. A number written without "+" is therefore kept when its
context says it is a reference (`is_reference`): right after "#", "nº", "Nr." or an
identifier's prefix ("INV-2024-004512"), glued to letters, or within a few words after an
order, invoice, tracking or reference word in one of the six sample languages, unless a
phone word ("call", "tel", "móvil", "Handy"...) is nearer. Amounts and dates are not read
as phone numbers in the first place (separators, `DATE_PATTERN`). Matching is done on the
text, not on spaCy tokens (the tokenizer splits "123-4567").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

import phonenumbers
from babel.core import get_global
from babel.languages import get_official_languages
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher
from phonenumbers import phonenumbermatcher as pnm
from phonenumbers import phonenumberutil as pnu

from wareader_pipelines.nlp.text import URL_PATTERN

PHONE_MASK = "[PHONE]"
EMAIL_MASK = "[EMAIL]"
URL_MASK = "[URL]"
NAME_MASK = "[NAME]"
MASKS = (PHONE_MASK, EMAIL_MASK, URL_MASK, NAME_MASK)

EMAIL_PATTERN = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
# The fewest digits of a phone number: the shortest plans of any sizeable country. A few
# territories dial 4 to 6 digits (Ascension, Niue...), but read that way every year, postcode
# and price in a chat would be a "phone number".
MIN_PHONE_DIGITS = 7
# A date ("2024-05-13", "13/05/2024", "2026-11-25.1"): some plans accept its digits.
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}(?:\.\d+)?|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
# Digits with at most four non-letters between neighbours: a phone number is one such run,
# so its digit count says which regions' plans could read it.
_DIGIT_RUN = re.compile(r"\d(?:[^\w]{0,4}\d)*")
# A bare run of 10 to 15 digits: international numbers written the way WhatsApp ids are
# (E.164 without "+", "5511987654321"), which no default region reads as valid.
_BARE_INTERNATIONAL = re.compile(r"(?<![\d+])\d{10,15}(?!\d)")
# Words that name a reference number, in the languages of the sample (en es pt de fr it):
# the number after one of them is an order, invoice, parcel or case id, not a phone number.
_REFERENCE_WORDS = re.compile(
    r"(?<!\w)(?:order|invoice|inv|receipt|ref|reference|tracking|ticket|booking|"
    r"confirmation|account|acct|iban|pedido|encomenda|factura|fatura|recibo|referencia|"
    r"refer[êe]ncia|protocolo|reserva|localizador|nota\s+fiscal|bestell\w*|auftrag\w*|"
    r"rechnung\w*|kunden\w*|sendung\w*|buchung\w*|commande|facture|r[ée]f[ée]rence|"
    r"dossier|colis|ordine|fattura|riferimento|pratica|spedizione|prenotazione)(?!\w)",
    re.IGNORECASE,
)
# Words that introduce a phone number: they win over a reference word further back.
_PHONE_WORDS = re.compile(
    r"(?<!\w)(?:tel|t[ée]l[ée]?f?|phone|telephone|call|cell|mobile|whats\w*|sms|fax|text|"
    r"write|message|contact\w*|reach|ring|dial|escr[ií]b\w*|manda\w*|schreib\w*|[ée]cri\w*|"
    r"scriv\w*|"
    r"tel[ée]fono|m[óo]vil|celular|llam\w*|telefone|liga\w*|zap|handy|ruf\w*|anruf\w*|"
    r"telefon\w*|portable|appel\w*|t[ée]l[ée]phone|cellulare|chiam\w*|numero\s+di\s+tel\w*)"
    r"(?!\w)",
    re.IGNORECASE,
)
# Marks written right before a reference number: "#4521987", "nº 123", "Nr. 4711", "INV-2024".
# ("no" only with its dot: Portuguese "me liga no 11..." means "call me at".)
_REFERENCE_MARK = re.compile(r"(?:#|\bn[º°]\.?|\bnr\.?|\bno\.|\bnum\.)\s*$", re.IGNORECASE)
# An identifier's prefix glued to the number: "INV-2024-004512", "PO-4521987".
_ID_PREFIX = re.compile(r"\b[A-Z]{2,6}-$")
# How far back (characters, within the line) a reference or phone word is looked for.
_CONTEXT_CHARS = 40
# Name parts shorter than this are not masked on their own ("Jo" would eat "jo" in "jojo").
MIN_NAME_PART = 3
_NAME_PART = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")

# When several finds overlap, the wider kind wins: an e-mail holds a domain, a URL digits.
_PRIORITY = {EMAIL_MASK: 0, URL_MASK: 1, PHONE_MASK: 2, NAME_MASK: 3}


def phone_regions(languages: Iterable[str] = (), extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The regions (ISO 3166-1 alpha-2) whose national phone formats a deployment reads.

    Every region where one of `languages` (ISO 639-1) is an official or de facto language,
    by the CLDR data in Babel ("es" gives ES, MX, AR...; "fr" gives FR, BE, CA...), plus
    `extra`. No languages means any language, and so every region libphonenumber knows.
    """
    codes = {code.strip().lower() for code in languages if code.strip()}
    supported = phonenumbers.SUPPORTED_REGIONS
    if not codes:
        regions = set(supported)
    else:
        regions = {
            region
            for region in get_global("territory_languages")
            if region in supported and codes & _official_languages(region)
        }
    regions |= {r.upper() for r in extra if r and r.upper() in supported}
    return tuple(sorted(regions))


def _official_languages(region: str) -> set[str]:
    """ISO 639-1 codes of `region`'s official and de facto languages, without script tags."""
    return {code.split("_")[0] for code in get_official_languages(region, de_facto=True)}


class PiiMasker:
    """Finds and masks personal data in texts, for one deployment's set of phone regions.

    `regions` are tried for digit runs the sender's own region does not read as a phone
    number; `default_region` is the sender's region when a call does not name one.
    """

    def __init__(self, regions: Sequence[str] = (), default_region: str = "US") -> None:
        # libphonenumber's metadata patterns of ~150 regions overflow the re module's cache of
        # 512, and every match then compiles them again: keep them (idempotent, process-wide).
        phonenumbers.enable_pattern_cache()
        self.default_region = default_region
        self.regions = tuple(r for r in regions if r != default_region)
        # Regions by the fewest digits a number of theirs has: a text whose longest digit
        # run is shorter is not read in them (most plans need 7+, Ascension's has 5).
        lengths = {r: _shortest_number(r) for r in self.regions}
        self._regions_by_length = {
            n: tuple(r for r in self.regions if lengths[r] <= n) for n in range(0, 18)
        }

    def mask(
        self,
        text: str,
        *,
        region: str | None = None,
        names: Collection[str] = (),
        keep_urls: bool = False,
    ) -> str:
        """`text` with phone numbers, e-mails, URLs (unless `keep_urls`) and `names` masked.

        With `keep_urls` the links stay, but a phone number, e-mail or name inside one is
        still masked ("wa.me/[PHONE]").
        """
        if not text:
            return text
        spans = self.spans(text, region=region, names=names, urls=not keep_urls)
        for start, end, mask in reversed(spans):
            text = text[:start] + mask + text[end:]
        return text

    def spans(
        self,
        text: str,
        *,
        region: str | None = None,
        names: Collection[str] = (),
        urls: bool = True,
    ) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, mask) of the personal data in `text`, in order."""
        found: list[tuple[int, int, str]] = []
        if "@" in text:
            found += [(m.start(), m.end(), EMAIL_MASK) for m in EMAIL_PATTERN.finditer(text)]
        if urls and "." in text:
            found += [(m.start(), m.end(), URL_MASK) for m in URL_PATTERN.finditer(text)]
        # map() keeps the character loop in C: this check runs on every distinct text
        digits = _longest_digit_run(text) if any(map(str.isdigit, text)) else 0
        if digits >= MIN_PHONE_DIGITS:
            found += [(s, e, PHONE_MASK) for s, e in self._phone_spans(text, region, digits)]
        if names:
            pattern = _names_pattern(frozenset(names))
            if pattern is not None:
                found += [(m.start(), m.end(), NAME_MASK) for m in pattern.finditer(text)]
        return _merged(found) if len(found) > 1 else found

    def mask_phones(self, text: str, *, region: str | None = None) -> str:
        """`text` with phone numbers written with a "+" or in a known region's plan masked.

        Links, e-mails and names stay, and so do bare digit runs read as international
        numbers only by their length ("order 5511987654321"): for archives, see PhoneRedactor.
        """
        digits = _longest_digit_run(text) if any(c.isdigit() for c in text) else 0
        if digits < MIN_PHONE_DIGITS:
            return text
        for start, end in sorted(self._phone_spans(text, region, digits, bare=False), reverse=True):
            text = text[:start] + PHONE_MASK + text[end:]
        return text

    def _phone_spans(
        self, text: str, region: str | None, digits: int, *, bare: bool = True
    ) -> list[tuple[int, int]]:
        own = region or self.default_region
        spans = [_trimmed(text, m.start, m.end) for m in _matches(text, own)]
        regions = self._regions_by_length[min(digits, 17)]
        spans += [_trimmed(text, s, e) for s, e in _national_numbers(text, regions)]
        for bare_run in _BARE_INTERNATIONAL.finditer(text) if bare else ():
            if any(s < bare_run.end() and bare_run.start() < e for s, e in spans):
                continue
            number = bare_run.group(0)
            if region_of_phone_digits(number) and phone_digits("+" + number):
                spans.append((bare_run.start(), bare_run.end()))
        merged = [(s, e) for s, e, _ in _merged([(s, e, PHONE_MASK) for s, e in spans])]
        return [(s, e) for s, e in merged if not is_reference(text, s, e)]


def is_reference(text: str, start: int, end: int) -> bool:
    """Whether the digits `text[start:end]` are an order, invoice or other reference number.

    Never for a number written with "+". Otherwise yes when it is glued to letters
    ("A12345678", "12345678B"), follows a mark ("#", "nº", "Nr.", "INV-"), or follows a
    reference word ("order", "Rechnung", "pedido"...) within `_CONTEXT_CHARS` on its line
    with no other number and no phone word ("call", "tel", "Handy"...) between them, and
    is written without spaces: "order 612345678" is a reference, but "order 612 34 56 78"
    is written in groups the way phone numbers are, and is masked as one.
    """
    if "+" in text[start:end]:
        return False
    if (start and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha()):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - _CONTEXT_CHARS) : start]
    if _REFERENCE_MARK.search(before) or _ID_PREFIX.search(before):
        return True
    if any(c.isspace() for c in text[start:end]):
        return False  # digits in spaced groups after a word: a phone number (see above)
    references = [m.end() for m in _REFERENCE_WORDS.finditer(before)]
    # the nearest reference word names this number only when no other number is between them
    if not references or any(c.isdigit() for c in before[references[-1] :]):
        return False
    phones = [m.end() for m in _PHONE_WORDS.finditer(before)]
    return not phones or max(phones) < references[-1]


def _longest_digit_run(text: str) -> int:
    """The most digits in one run of digits and the few non-letters numbers are written with."""
    return max((sum(c.isdigit() for c in m.group(0)) for m in _DIGIT_RUN.finditer(text)), default=0)


@lru_cache(maxsize=512)
def _shortest_number(region: str) -> int:
    """The fewest digits of a valid number of `region`, as libphonenumber's metadata says."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    lengths = [n for n in (metadata.general_desc.possible_length if metadata else ()) if n > 0]
    return min(lengths, default=7)


def _matches(text: str, region: str) -> list[phonenumbers.PhoneNumberMatch]:
    """The valid numbers of `region` in `text` that have at least `MIN_PHONE_DIGITS` digits."""
    return [m for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID) if _kept(m)]


@lru_cache(maxsize=65536)
def _national_numbers(text: str, regions: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(start, end) in `text` of the numbers that any region in `regions` reads as valid.

    The same spans as libphonenumber's matcher run in every region, found faster. The
    matcher is run once without a region (then only numbers written with "+" are read),
    recording each candidate it cuts from the text and the strings it parses in it. A
    region's matcher cuts and tries the same, with the same outcomes, until it reads one of
    those strings as a valid number: only the regions that could read a string
    (`_regions_reading_differently`) are asked, string by string. A region that does takes
    that number, and goes on where the candidate ends as the regionless matcher did, unless
    the number ends earlier: only then is the region's own matcher run over the text. The
    last strings of a candidate that could not be kept (too few digits) and end where the
    candidate does change nothing whoever reads them, and are not asked.
    """
    if not regions:
        return ()
    unknown = _RecordingMatcher(text)
    international = [(m.start, m.end) for m in unknown if _kept(m)]
    wanted = frozenset(regions)
    if unknown.out_of_tries():  # a region with tries left could cut more: run each reader
        readers = wanted & frozenset().union(
            *(
                _regions_reading_differently(digits)
                for candidate in unknown.candidates
                for piece, _ in candidate.tries
                if (digits := _national_digits(piece))
            )
        )
        spans = [(m.start, m.end) for region in sorted(readers) for m in _matches(text, region)]
        return tuple(spans + international) if len(readers) < len(wanted) else tuple(spans)
    # per candidate, the regions that read one of its strings, and the first they read
    firsts: list[dict[str, tuple[str, int]]] = []
    diverged: set[str] = set()
    for candidate in unknown.candidates:
        first: dict[str, tuple[str, int]] = {}
        asked: set[tuple[str, int]] = set()  # a string may be tried twice: same answers
        for piece, offset in candidate.telling_tries():
            digits = _national_digits(piece)
            if not digits or (piece, offset) in asked:
                continue
            asked.add((piece, offset))
            for region in _regions_reading_differently(digits) & wanted:
                if region in first or region in diverged:
                    continue
                if _verified(text, region, piece, offset):
                    first[region] = (piece, offset)
                    if offset + len(piece) != candidate.resume:
                        diverged.add(region)
        firsts.append(first)
    spans = [(m.start, m.end) for region in sorted(diverged) for m in _matches(text, region)]
    touched = set().union(*firsts) - diverged
    for region in sorted(touched):
        for candidate, first in zip(unknown.candidates, firsts, strict=True):
            piece, offset = first.get(region, ("", -1))
            if offset >= 0:
                if _kept_string(piece):
                    spans.append((offset, offset + len(piece)))
            elif candidate.match is not None and _kept(candidate.match):
                spans.append((candidate.match.start, candidate.match.end))
    if len(touched) + len(diverged) < len(wanted):  # the regions that read none
        spans += international
    return tuple(spans)


def _verified(text: str, region: str, candidate: str, offset: int) -> bool:
    """Whether libphonenumber's matcher in `region` takes `candidate` (at `offset` in
    `text`) as a valid number."""
    matcher = PhoneNumberMatcher(text, region, leniency=Leniency.VALID)
    return matcher._parse_and_verify(candidate, offset) is not None


class _Candidate:
    """A piece of text the matcher cut out as a possible number: the strings it parsed in it
    (with their offsets, in order), the number it found there, and where it goes on."""

    __slots__ = ("match", "resume", "tries")

    def __init__(self, end: int) -> None:
        self.tries: list[tuple[str, int]] = []
        self.match: phonenumbers.PhoneNumberMatch | None = None
        self.resume = end  # where the next search starts: the candidate's end, or the match's

    def telling_tries(self) -> list[tuple[str, int]]:
        """The tries whose reading can change what the matcher finds: all but the last ones
        that could not be kept and end where the candidate does (read or not, the matcher
        goes on from there with nothing kept)."""
        tries = self.tries
        if self.match is not None:
            return tries
        last = len(tries)
        while last and not _kept_string(tries[last - 1][0]):
            piece, offset = tries[last - 1]
            if offset + len(piece) != self.resume:
                break
            last -= 1
        return tries[:last]


class _RecordingMatcher(PhoneNumberMatcher):
    """libphonenumber's matcher without a region, noting each candidate and every string it
    parses in it (the strings its own checks refuse before parsing are refused alike in
    every region, and are not noted)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, None, leniency=Leniency.VALID)
        self.candidates: list[_Candidate] = []

    def out_of_tries(self) -> bool:
        """Whether the matcher stopped for its limit of tries (a region stops later)."""
        return self._max_tries <= 0

    def _extract_match(self, candidate: str, offset: int) -> phonenumbers.PhoneNumberMatch | None:
        noted = _Candidate(offset + len(candidate))
        self.candidates.append(noted)
        match = super()._extract_match(candidate, offset)
        if match is not None:
            noted.match, noted.resume = match, match.end
        return match

    def _parse_and_verify(
        self, candidate: str, offset: int
    ) -> phonenumbers.PhoneNumberMatch | None:
        if _reaches_parse(self.text, candidate, offset):
            self.candidates[-1].tries.append((candidate, offset))
        return super()._parse_and_verify(candidate, offset)


def _reaches_parse(text: str, candidate: str, offset: int) -> bool:
    """Whether the matcher (leniency VALID) parses `candidate` at `offset` in `text`: the
    checks `PhoneNumberMatcher._parse_and_verify` makes before it parses, which no region
    changes (unbalanced brackets, page references, a letter or currency sign next to it)."""
    if not pnm.fullmatch(pnm._MATCHING_BRACKETS, candidate) or pnm._PUB_PAGES.search(candidate):
        return False
    refused = PhoneNumberMatcher._is_invalid_punctuation_symbol
    letter = PhoneNumberMatcher._is_latin_letter
    if offset > 0 and not pnm._LEAD_PATTERN.match(candidate):
        previous = text[offset - 1]
        if refused(previous) or letter(previous):
            return False
    end = offset + len(candidate)
    return not (end < len(text) and (refused(text[end]) or letter(text[end])))


def _kept(match: phonenumbers.PhoneNumberMatch) -> bool:
    """Whether a match counts as a phone number here (see `_matches`)."""
    return _kept_string(match.raw_string)


def _kept_string(raw: str) -> bool:
    """Whether a number written as `raw` counts as a phone number here (see `_matches`)."""
    return sum(c.isdigit() for c in raw) >= MIN_PHONE_DIGITS and not DATE_PATTERN.fullmatch(raw)


@lru_cache(maxsize=65536)
def _national_digits(candidate: str) -> str | None:
    """The digits `phonenumbers.parse` reads a national number from in `candidate`, or
    None when parse reads it alike in every region: it refuses the string, or the string
    starts with "+" and a known country code (after a "+" and an unknown one, a region's
    reading retries the digits without the "+").

    These steps of parse are the same in every region (libphonenumber's own functions).
    """
    try:
        national = pnu._build_national_number_for_parsing(candidate)
    except phonenumbers.NumberParseException:
        return None
    if len(candidate) > pnu._MAX_INPUT_STRING_LENGTH or not pnu._is_viable_phone_number(national):
        return None
    _, national = pnu._maybe_strip_extension(national)
    plus = pnu._PLUS_CHARS_PATTERN.match(national)
    if not plus:
        return pnu._normalize(national)
    digits = pnu._normalize(national[plus.end() :])
    if len(digits) <= pnu._MIN_LENGTH_FOR_NSN or pnu._extract_country_code(digits)[0] != 0:
        return None  # too short, or a known country code: read alike in every region
    return digits


@lru_cache(maxsize=65536)
def _regions_reading_differently(digits: str) -> frozenset[str]:
    """The regions in which parsing a string whose national digits are `digits` (see
    `_national_digits`) could give a valid number where parsing it without a region fails.

    Without a region only "+" numbers parse, and they parse alike in every region. In a
    region a string also parses when its digits start with the region's international
    prefix (then any country code follows), or as a number of the region's country code:
    its national number is then `digits`, or `digits` without that country code, with a
    national prefix stripped or transformed at most twice (by the region's rules or those of
    its country code's main region), as parse does. A region where none of those is valid
    reads the string as the regionless matcher does: not at all.
    """
    found: set[str] = set()
    for idd, regions in _international_prefixes():
        if pnu._parse_prefix_as_idd(idd, digits)[0]:
            found.update(regions)
    for region, code, code_text, rules in _national_rules():
        if region in found:
            continue
        numbers = {digits}
        if digits.startswith(code_text):
            numbers.add(digits[len(code_text) :])
        for _ in range(2):  # parse strips twice for a number written with its country code
            stripped = {
                pnu._maybe_strip_national_prefix_carrier_code(number, metadata)[1]
                for metadata, prefix in rules
                for number in numbers
                if number and prefix.match(number)  # else the number is kept as it is
            }
            if stripped <= numbers:
                break
            numbers |= stripped
        if any(_valid_national_number(code, number) for number in numbers):
            found.add(region)
    return frozenset(found)


@lru_cache(maxsize=1)
def _international_prefixes() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """libphonenumber's international prefix patterns, each with the regions that dial it."""
    regions: dict[str, list[str]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).international_prefix
        if prefix is not None:  # as parse reads it ("" would match every number)
            regions.setdefault(prefix, []).append(region)
    return tuple((pnu.re_compile(prefix), tuple(rs)) for prefix, rs in regions.items())


@lru_cache(maxsize=1)
def _national_rules() -> tuple[
    tuple[str, int, str, tuple[tuple[phonenumbers.PhoneMetadata, re.Pattern[str]], ...]], ...
]:
    """For each region: its country code (as a number and as digits), and the metadata that
    parse strips national prefixes with (the region's and its country code's main region's),
    each with its national prefix pattern."""
    phonenumbers.enable_pattern_cache()  # ~500 metadata patterns: see PiiMasker.__init__
    rules = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        code = metadata.country_code
        main = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            code, phonenumbers.region_code_for_country_code(code)
        )
        strippers = tuple(
            (m, pnu.re_compile(m.national_prefix_for_parsing))
            for m in {id(m): m for m in (metadata, main) if m is not None}.values()
            if m.national_prefix_for_parsing
        )
        rules.append((region, code, str(code), strippers))
    return tuple(rules)


@lru_cache(maxsize=1)
def _national_lengths() -> dict[int, frozenset[int]]:
    """Per country calling code, the lengths its valid national numbers can have."""
    lengths: dict[int, frozenset[int]] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        found: set[int] = set()
        for region in regions:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            possible = metadata.general_desc.possible_length if metadata else ()
            if metadata is not None and not possible:
                found = set(range(18))  # no lengths listed: any length
            found.update(n for n in possible or () if n > 0)
        lengths[code] = frozenset(found)
    return lengths


@lru_cache(maxsize=1 << 16)
def _valid_national_number(code: int, national: str) -> bool:
    """Whether `national` (digits) is a valid number of country calling code `code`."""
    lengths = _national_lengths().get(code)
    if not lengths or len(national) not in lengths or not national.isdigit():
        return False
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    pnu._set_italian_leading_zeros_for_phone_number(national, number)
    return phonenumbers.is_valid_number(number)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """A phone span without a bracket it does not close: "(+55 11 9...)" keeps its "(" and ")"."""
    span = text[start:end]
    if span.startswith("(") and span.count("(") > span.count(")"):
        start += 1
    span = text[start:end]
    if span.endswith(")") and span.count(")") > span.count("("):
        end -= 1
    return start, end


def _merged(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping finds joined into one span that takes the wider kind's mask."""
    merged: list[tuple[int, int, str]] = []
    for start, end, mask in sorted(found):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_mask = merged[-1]
            kind = min(last_mask, mask, key=_PRIORITY.__getitem__)
            merged[-1] = (last_start, max(last_end, end), kind)
        else:
            merged.append((start, end, mask))
    return merged


def name_parts(name: str) -> set[str]:
    """What of a display name a person may type: the whole name and each word of it.

    "Ana Souza 🌸" gives {"Ana Souza", "Ana", "Souza"}; parts shorter than
    `MIN_NAME_PART` letters and names that are phone numbers give nothing.
    """
    if not name or phone_digits(name) is not None:
        return set()
    words = [w for w in _NAME_PART.findall(name) if len(w) >= MIN_NAME_PART]
    parts = set(words)
    if len(words) > 1:
        parts.add(" ".join(words))
    return parts


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The single words of `names` (see `name_parts`), case-folded: what `mask_name_words`
    looks for."""
    return frozenset(
        part.casefold() for name in names for part in name_parts(name) if " " not in part
    )


_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['’\-][^\W\d_]+)*(?!\w)")
_MASK_WORDS = frozenset(
    m.strip("[]").casefold() for m in (PHONE_MASK, EMAIL_MASK, URL_MASK, NAME_MASK)
)


def holds_name_words(text: str, words: frozenset[str]) -> bool:
    """Whether a word of `text` is one of `words` (from `name_words`): whether
    `mask_name_words` can change it."""
    return bool(text and words) and not words.isdisjoint(map(str.casefold, _WORD.findall(text)))


def mask_name_words(text: str, words: frozenset[str]) -> str:
    """`text` with every word that is one of `words` (from `name_words`) masked as [NAME].

    For the names of people outside the text's own conversation: a word by word look-up, as
    cheap with thousands of names as with one (a pattern of alternatives is not). The masks
    already in the text are left alone.
    """
    # Most texts hold none of the names: a set look-up per word, in C, and no substitution.
    if not holds_name_words(text, words):
        return text

    def replaced(found: re.Match[str]) -> str:
        word = found.group(0)
        folded = word.casefold()
        return NAME_MASK if folded in words and folded not in _MASK_WORDS else word

    return _WORD.sub(replaced, text)


@lru_cache(maxsize=4096)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    parts = set().union(*(name_parts(n) for n in names)) if names else set()
    if not parts:
        return None
    alternatives = "|".join(re.escape(p) for p in sorted(parts, key=lambda p: (-len(p), p)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def mask_urls(text: str) -> str:
    """`text` with its links replaced by [URL] (masks already in a link are part of it)."""
    return URL_PATTERN.sub(URL_MASK, text) if "." in text else text


def redact(
    text: str,
    *,
    default_region: str = "US",
    regions: Sequence[str] = (),
    names: Collection[str] = (),
) -> str:
    """`text` with e-mails, URLs, phone numbers and `names` replaced by their typed masks.

    `default_region` (ISO 3166-1 alpha-2) is how numbers written without "+" and country
    code are read first: "030 1234567" is a Berlin number for region "DE"; `regions` are
    tried next for digit runs the default region does not read (see `phone_regions`).
    """
    return _masker(default_region, tuple(regions)).mask(text, names=names)


@lru_cache(maxsize=64)
def _masker(default_region: str, regions: tuple[str, ...]) -> PiiMasker:
    return PiiMasker(regions, default_region)


def mask_phone_numbers(text: str, default_region: str = "US", regions: Sequence[str] = ()) -> str:
    """`text` with phone numbers (only) replaced by [PHONE]; see `PiiMasker.mask_phones`."""
    return _masker(default_region, tuple(regions)).mask_phones(text)


class PhoneRedactor:
    """Masks phone numbers only (links and addresses stay), and the known numbers of senders.

    For archives, whose readers should still see the links and addresses their
    conversation shared. Senders' numbers arrive as bare digits (`wa_id`, "34612345678"),
    which libphonenumber cannot place without a "+"; they are masked wherever they occur
    as a digit run. `regions` are read as in `redact` (see `phone_regions`).
    """

    def __init__(
        self,
        *,
        default_region: str = "US",
        known_numbers: Iterable[str] = (),
        regions: Sequence[str] = (),
    ) -> None:
        self.default_region = default_region
        self.regions = tuple(regions)
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
        return mask_phone_numbers(text, self.default_region, self.regions)


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
