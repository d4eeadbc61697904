"""Text normalization and counts for chat message bodies: clean text, emoji, URLs, words.

Chat exports carry invisible direction marks, odd spaces and decomposed accents; the
functions here turn a body into one canonical form (NFC, never NFKD: NFKD would split
"é" into "e" + a combining accent and mangle accented text) and count what analysts ask
about. Everything is written for throughput: ASCII text takes short paths, and the costly
libraries (`emoji`, spaCy) only see the texts that need them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import emoji
import spacy
from spacy.lang.tokenizer_exceptions import emoticons
from spacy.language import Language

# Invisible formatting characters that WhatsApp and phones insert: direction marks and
# embeddings/isolates, the byte-order mark, zero-width space, word joiner, Arabic letter
# mark. ZWJ (U+200D) and ZWNJ (U+200C) are kept: emoji sequences and Persian need them.
_INVISIBLE = (
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u200b\u2060\u061c"
)
# Spaces that are not U+0020: no-break, narrow no-break (iOS puts it before AM/PM),
# thin and the other typographic spaces, ideographic space, tab.
_ODD_SPACES = (
    "\u00a0\u202f\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u205f\u3000\t"
)
_NORMALIZE_TABLE = str.maketrans(
    {**dict.fromkeys(_INVISIBLE, None), **dict.fromkeys(_ODD_SPACES, " ")}
)
_SPACE_RUN = re.compile(r" {2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")


def normalize_text(text: str) -> str:
    """The canonical form of a message body: NFC, no invisible marks, single spaces, stripped.

    Newlines are kept (multi-line messages are meaningful) but the spaces around them are
    dropped; Windows and old-Mac line ends become "\\n".
    """
    if not text.isascii():
        text = text.translate(_NORMALIZE_TABLE)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
    elif "\t" in text:
        text = text.replace("\t", " ")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    if "\n" in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    return text.strip()


def _character_class(chars: set[str]) -> str:
    """The body of a regex character class matching `chars`, written as ranges.

    Ranges matter: a class of 1,400 single emoji characters made matching 40x slower.
    """
    points = sorted(ord(c) for c in chars)
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def _emoji_singles() -> set[str]:
    """The characters an emoji other than a flag, keycap or lone skin tone starts with."""
    starts = {key[0] for key in emoji.EMOJI_DATA}
    return (
        {c for c in starts if not c.isascii()}
        - {chr(c) for c in range(0x1F1E6, 0x1F200)}
        - {chr(c) for c in range(0x1F3FB, 0x1F400)}
    )


def _emoji_pattern() -> re.Pattern[str]:
    """A regex with one match per emoji, built from the `emoji` package's data.

    Matches flags (pairs of regional indicators), keycaps, and every other emoji's first
    character unless a ZWJ glues it to the previous one. Skin tones after an emoji,
    variation selectors and the parts of a ZWJ sequence after the first are not matched,
    so "👩🏽‍💻" is one match. The leading look-ahead lets the engine skip non-emoji
    characters fast.
    """
    regional = "\U0001f1e6-\U0001f1ff"
    tones = "\U0001f3fb-\U0001f3ff"
    singles = _character_class(_emoji_singles())
    return re.compile(
        f"(?=[{regional}#*0-9{singles}{tones}])"
        f"(?:[{regional}]{{1,2}}"
        "|[#*0-9]\ufe0f?\u20e3"
        f"|[{singles}](?<!\u200d[{singles}])"
        f"|[{tones}](?<![{singles}][{tones}]))"
    )


_EMOJI = _emoji_pattern()
# Every match of _EMOJI holds one of these (a single's start, a regional indicator or skin
# tone, the keycap mark): a text without any has no emoji, found without the regex, whose
# character classes of many ranges cost ~0.1 us per character.
_EMOJI_MARKS = frozenset(
    _emoji_singles()
    | {chr(c) for c in range(0x1F1E6, 0x1F200)}
    | {"\u20e3"}
    | {chr(c) for c in range(0x1F3FB, 0x1F400)}
)


def emoji_count(text: str) -> int:
    """How many emoji `text` holds; a skin-tone, flag, keycap or ZWJ sequence counts once.

    Counts the same as `emoji.emoji_count` (checked by the tests over every emoji the
    package knows) at regex speed: the package's own tokenizer is pure Python and cost
    ~40 µs per message.
    """
    if text.isascii() or _EMOJI_MARKS.isdisjoint(text):
        return 0
    return len(_EMOJI.findall(text))


# http(s)://… or www.…, or a bare domain with a common top-level domain ("maps.app.goo.gl/x").
# The look-behind keeps the domain of an e-mail address from counting as a URL.
_TLDS = (
    "com|org|net|edu|gov|info|biz|io|co|me|ly|gl|app|dev|ai|tv|es|de|fr|it|pt|br|mx|ar|cl|"
    "uk|nl|be|ch|at|in|us|ca|au|eu|ru|tr|id"
)
URL_PATTERN = re.compile(
    r"(?<![@\w.\-])"
    r"(?:(?:https?://|www\.)[^\s<>\"]+"
    rf"|(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\"…"


def urls_in(text: str) -> list[str]:
    """The URLs in `text`, in order, without the sentence punctuation that follows them."""
    if "." not in text:
        return []
    return [m.rstrip(_URL_TRAILING) for m in URL_PATTERN.findall(text)]


UNKNOWN_LANGUAGE = "xx"  # spaCy's multi-language tokenizer


def _is_word(token_text: str) -> bool:
    """Whether a token is a word: it has a letter or digit and is not an emoticon like ":D"."""
    return (
        token_text not in emoticons
        and any(c.isalnum() for c in token_text)
        and not emoji.is_emoji(token_text)  # keycaps such as "1️⃣" hold a digit
    )


class Tokenizers:
    """spaCy blank tokenizers, one per language, created on first use and kept.

    `spacy.blank` needs no trained model (nothing is downloaded). Languages spaCy does not
    know, or whose tokenizer needs an extra package (Japanese, Korean, Thai, Vietnamese),
    fall back to the multi-language tokenizer "xx". Each vocabulary gets a lexeme flag
    "is a word", so counting words is one Cython `count_by` per message.
    """

    def __init__(self) -> None:
        self._by_language: dict[str, tuple[Language, int]] = {}

    def tokenizer_for(self, language: str | None) -> Language:
        """The blank spaCy pipeline for `language` (ISO 639-1), or the "xx" one."""
        return self._pipeline_and_word_flag(language)[0]

    def _pipeline_and_word_flag(self, language: str | None) -> tuple[Language, int]:
        """The pipeline for `language` and the id of its "is a word" lexeme flag."""
        code = language or UNKNOWN_LANGUAGE
        entry = self._by_language.get(code)
        if entry is None:
            try:
                nlp = spacy.blank(code)
                nlp.tokenizer("test")  # some languages fail only when used
                entry = (nlp, nlp.vocab.add_flag(_is_word))
            except Exception:  # unknown code or missing optional dependency
                entry = (
                    self._pipeline_and_word_flag(UNKNOWN_LANGUAGE)
                    if code != UNKNOWN_LANGUAGE
                    else (nlp := spacy.blank(code), nlp.vocab.add_flag(_is_word))
                )
            self._by_language[code] = entry
        return entry

    def word_counts(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[int]:
        """The number of words (not punctuation, spaces, emoji or emoticons) in each text.

        Texts are tokenized by language, each distinct text once (chats repeat "ok" and
        "jaja" a lot).
        """
        if len(texts) != len(languages):
            raise ValueError("texts and languages must have the same length")
        counts = [0] * len(texts)
        groups: dict[str, dict[str, list[int]]] = {}
        for i, (text, language) in enumerate(zip(texts, languages, strict=True)):
            if text:
                groups.setdefault(language or UNKNOWN_LANGUAGE, {}).setdefault(text, []).append(i)
        # count_by's own Counter (pure Python) cost a fifth of the time: one dict is reused.
        tally: defaultdict[int, int] = defaultdict(int)
        for language in sorted(groups):
            nlp, word_flag = self._pipeline_and_word_flag(language)
            tokenizer = nlp.tokenizer
            for text, indexes in groups[language].items():
                tally.clear()
                tokenizer(text).count_by(word_flag, counts=tally)
                count = tally.get(1, 0)
                for i in indexes:
                    counts[i] = count
        return counts
