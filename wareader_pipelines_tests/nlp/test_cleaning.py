"""`clean_messages`: the analyst table built from raw_messages rows."""

from __future__ import annotations

import gc
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wareader_pipelines.nlp import cleaning
from wareader_pipelines.nlp.cleaning import (
    CLEANED_COLUMNS,
    CleaningWorkers,
    RangeCleaner,
    clean_messages,
)
from wareader_pipelines.nlp.language import language_detector
from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.nlp.text import Tokenizers
from wareader_pipelines.parsing.records import MessageRecord, frame_of
from wareader_pipelines.task_claims import TaskClaims

START = datetime(2024, 5, 13, 9, 0, tzinfo=UTC)
ANA_WA_ID = "34612345678"
ANA_NAME = "Ana Torres"
BOB_NAME = "Roberto Díaz"
UNSAVED = "+49 151 23456789"  # an export names an unsaved contact by their number


def _message(
    i: int,
    text: str | None,
    *,
    wa_id: str | None = None,
    name: str | None = None,
    kind: str = "text",
    system: bool = False,
    conversation: str = "conv_1",
) -> MessageRecord:
    return MessageRecord(
        message_id=f"m{i}",
        conversation_id=conversation,
        source="export",
        sender_wa_id=wa_id,
        sender_name=name,
        sent_at=START + timedelta(minutes=i),
        message_type=kind,
        text=text,
        media_id=None,
        media_mime=None,
        reply_to_id="m0" if i == 3 else None,
        is_system=system,
        is_edited=i == 2,
        source_file="exports/chat.txt",
        location=f"line {i + 1}",
        conversation_name="Family",
    )


def _raw() -> pd.DataFrame:
    records = [
        _message(
            0, "\u200e¿Viste el partido anoche? Fue increíble 😂😂", wa_id=ANA_WA_ID, name=ANA_NAME
        ),
        _message(
            1,
            "Sí, llámame al 612 34 56 78 o escribe a ana@example.com",
            wa_id=ANA_WA_ID,
            name=ANA_NAME,
        ),
        _message(2, "jaja", wa_id=ANA_WA_ID, name=ANA_NAME),
        _message(
            3, "I missed it, the train was late again, see https://example.com/x", name=BOB_NAME
        ),
        _message(4, "ok 👍🏽", name=BOB_NAME),
        _message(5, None, name=BOB_NAME, kind="image"),
        _message(6, "Ana added Roberto", system=True, kind="system"),
        _message(7, "Ich komme morgen vorbei, bis dann!", name=UNSAVED),
        _message(8, "ok", name=BOB_NAME, conversation="conv_2"),
        _message(9, "Roberto: (llama a @Ana Torres al 912 345 678)\nvale?", name=BOB_NAME),
    ]
    return frame_of(records, MessageRecord)


@pytest.fixture(scope="module")
def cleaned() -> pd.DataFrame:
    return clean_messages(
        _raw(),
        pseudonyms=Pseudonymizer("test-key"),
        detector=language_detector("fasttext"),
        tokenizers=Tokenizers(),
        default_region="US",
        phone_regions=("DE", "ES", "US"),
    )


def test_one_row_per_message_with_the_contract_columns(cleaned: pd.DataFrame) -> None:
    assert tuple(cleaned.columns) == CLEANED_COLUMNS
    contract = {"message_id", "conversation_id", "sender_id", "sent_at", "text_clean",
                "text_redacted", "language", "language_confidence", "is_media", "is_system",
                "word_count", "emoji_count"}  # fmt: skip
    assert contract <= set(cleaned.columns)
    assert cleaned["message_id"].tolist() == [f"m{i}" for i in range(10)]
    assert str(cleaned["sent_at"].dtype) == "datetime64[ns, UTC]"
    assert cleaned["reply_to_id"].tolist()[3] == "m0"
    assert cleaned["is_edited"].tolist()[2]


def test_no_phone_number_e_mail_or_participant_name_in_any_column(cleaned: pd.DataFrame) -> None:
    cells = [str(v) for v in cleaned.to_numpy().ravel()]
    forbidden = [ANA_WA_ID, "612 34 56 78", "912 345 678", "ana@example.com", ANA_NAME,
                 BOB_NAME, "Roberto", "Ana ", UNSAVED, "4915123456789"]  # fmt: skip
    for needle in forbidden:
        assert not any(needle in cell for cell in cells), needle
    assert not {"sender_wa_id", "sender_name", "conversation_name"} & set(cleaned.columns)
    by_id = cleaned.set_index("message_id")
    # typed masks in place of exactly what they cover; text_clean keeps the links
    assert by_id.at["m1", "text_clean"] == "Sí, llámame al [PHONE] o escribe a [EMAIL]"
    assert by_id.at["m3", "text_clean"].endswith("see https://example.com/x")
    assert by_id.at["m3", "text_redacted"].endswith("see [URL]")
    # a national number of another region (Spain, for a sender read as US), a name typed
    # with "@", brackets and the line break all kept around the masks
    assert by_id.at["m9", "text_redacted"] == "[NAME]: (llama a @[NAME] al [PHONE])\nvale?"
    # a system line names participants too
    assert by_id.at["m6", "text_clean"] == "[NAME] added [NAME]"


def test_sender_ids_are_keyed_pseudonyms_of_the_person(cleaned: pd.DataFrame) -> None:
    ids = cleaned["sender_id"].tolist()
    keys = Pseudonymizer("test-key")
    assert ids[0] == ids[1] == ids[2] == keys.id_of(ANA_WA_ID, prefix="u_")
    assert ids[3] == ids[4] == ids[5] == keys.id_of(f"name:conv_1:{BOB_NAME}", prefix="u_")
    assert ids[6] is None  # a system line has no sender
    # the unsaved contact is keyed by their number, as a webhook's wa_id would be
    assert ids[7] == keys.id_of("4915123456789", prefix="u_")
    # the same export name in another chat is another person
    assert ids[8] != ids[3]
    assert all(i is None or i.startswith("u_") for i in ids)
    other = clean_messages(
        _raw(),
        pseudonyms=Pseudonymizer("another-key"),
        detector=language_detector("fasttext"),
        tokenizers=Tokenizers(),
    )
    assert all(a != b for a, b in zip(ids, other["sender_id"], strict=True) if a is not None)


def test_text_language_and_counts(cleaned: pd.DataFrame) -> None:
    row = cleaned.iloc[0]
    assert row["text_clean"] == "¿Viste el partido anoche? Fue increíble 😂😂"
    assert (row["language"], row["language_method"]) == ("es", "detected")
    assert row["language_confidence"] > 0.5
    assert (row["emoji_count"], row["word_count"], row["url_count"]) == (2, 6, 0)
    assert row["char_count"] == len(row["text_clean"])

    jaja = cleaned.iloc[2]
    assert (jaja["language"], jaja["language_method"]) == ("es", "sender_fallback")
    assert jaja["language_confidence"] <= 0.5

    ok = cleaned.iloc[4]
    assert (ok["language"], ok["language_method"]) == ("en", "sender_fallback")
    assert ok["emoji_count"] == 1 and ok["word_count"] == 1

    assert cleaned["url_count"][3] == 1
    assert cleaned["language"][7] == "de"


def test_media_and_system_rows(cleaned: pd.DataFrame) -> None:
    image, system = cleaned.iloc[5], cleaned.iloc[6]
    assert image["is_media"] and not image["is_system"]
    assert (image["text_clean"], image["word_count"], image["char_count"]) == ("", 0, 0)
    assert system["is_system"] and not system["is_media"]
    for row in (image, system):
        assert row["language"] is None
        assert row["language_method"] == "undetermined"
        assert row["language_confidence"] == 0.0
    assert cleaned["is_media"].sum() == 1


def test_a_lone_short_message_in_an_unknown_conversation_is_undetermined(
    cleaned: pd.DataFrame,
) -> None:
    row = cleaned.iloc[8]
    assert (row["language"], row["language_method"]) == (None, "undetermined")


def _cleaning_arguments() -> dict[str, Any]:
    """Fresh keyword arguments of `clean_messages` for the tests that clean several ways."""
    return {
        "pseudonyms": Pseudonymizer("test-key"),
        "detector": language_detector("fasttext"),
        "tokenizers": Tokenizers(),
        "phone_regions": ("DE", "ES", "US"),
    }


def test_deterministic_and_each_day_independent_of_the_batch(cleaned: pd.DataFrame) -> None:
    raw = _raw()
    arguments = _cleaning_arguments()
    pd.testing.assert_frame_equal(cleaned, clean_messages(raw, **arguments))
    # a batch of two days gives each day the rows it gets alone: the language fallback and
    # the names to mask read the conversation's day and the names seen before it (which the
    # asset reads from raw_messages), never the rest of the batch
    later = raw.assign(sent_at=raw["sent_at"] + pd.Timedelta(days=1))
    later["message_id"] = "next_" + later["message_id"]
    later["sender_name"] = later["sender_name"].replace({ANA_NAME: "Zoe Ruiz"})
    later.loc[later["message_id"] == "next_m2", "text"] = "Ich komme morgen vorbei, bis dann!"
    both = clean_messages(pd.concat([raw, later], ignore_index=True), **arguments)
    earlier = raw["sender_name"].dropna().unique().tolist()
    alone = clean_messages(later.reset_index(drop=True), earlier_names=earlier, **arguments)
    pd.testing.assert_frame_equal(both.iloc[: len(raw)].reset_index(drop=True), cleaned)
    pd.testing.assert_frame_equal(both.iloc[len(raw) :].reset_index(drop=True), alone)


def test_names_of_people_in_other_chats_are_masked_from_the_day_they_are_seen() -> None:
    """A participant of one chat named in another is masked there too, once the pipeline
    has seen them (that day or before, or in `earlier_names`); never from the batch's
    later days, so a day's rows do not depend on the run's range."""
    records = [
        _message(0, "hola", name="Lucía Pérez", conversation="family"),
        _message(1, "dile a Lucía y a Mateo que llego tarde", name=BOB_NAME, conversation="work"),
        _message(2, "Mateo, te espero", name="Carmen", conversation="work"),
    ]
    later = replace(
        _message(3, "ok", name="Mateo Gil", conversation="football"),
        sent_at=START + timedelta(days=1),
    )
    arguments = {
        "pseudonyms": Pseudonymizer("test-key"),
        "detector": language_detector("fasttext"),
        "tokenizers": Tokenizers(),
    }
    cleaned = clean_messages(frame_of([*records, later], MessageRecord), **arguments)
    text = cleaned.set_index("message_id")["text_clean"]
    # Lucía writes in another chat the same day; Mateo only the next day
    assert text["m1"] == "dile a [NAME] y a Mateo que llego tarde"
    assert text["m2"] == "Mateo, te espero"
    told = clean_messages(
        frame_of(records, MessageRecord), earlier_names=["Mateo Gil"], **arguments
    ).set_index("message_id")["text_clean"]
    assert told["m1"] == "dile a [NAME] y a [NAME] que llego tarde"
    assert told["m2"] == "[NAME], te espero"


def test_empty_input_gives_an_empty_frame_with_the_columns() -> None:
    empty = clean_messages(
        frame_of([], MessageRecord),
        pseudonyms=Pseudonymizer("test-key"),
        detector=language_detector("fasttext"),
        tokenizers=Tokenizers(),
    )
    assert empty.empty
    assert tuple(empty.columns) == CLEANED_COLUMNS
    assert str(empty["word_count"].dtype) == "int64"


def _days_of_chats() -> pd.DataFrame:
    """Six days of the conversation above, each day with its own names and languages, rows
    out of time order (so groups of days are not runs of rows)."""
    days = []
    for day in range(6):
        frame = _raw().assign(sent_at=lambda f, d=day: f["sent_at"] + pd.Timedelta(days=d))
        frame["message_id"] = f"d{day}_" + frame["message_id"]
        if day % 2:
            frame["sender_name"] = frame["sender_name"].replace({ANA_NAME: f"Zoe {day}"})
        days.append(frame)
    batch = pd.concat(days, ignore_index=True)
    return batch.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _texts_cleaned_here_with_later_groups_left_to_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> list[int]:
    """Cut batches in 3 groups of days, make this process leave the groups after the first
    to the worker, and return the list to which each group cleaned HERE appends its text
    count (so a test sees what the worker took)."""
    monkeypatch.setattr(cleaning, "CLEANING_TASKS", 3)
    here: list[int] = []
    text_columns = cleaning._text_columns
    claim = TaskClaims.claim

    def counted(rows: object, tools: object, context: object) -> object:
        here.append(len(rows.texts))  # type: ignore[attr-defined]
        return text_columns(rows, tools, context)  # type: ignore[arg-type]

    def after_the_worker(self: TaskClaims, index: int) -> bool:
        # This process waits until the worker (which starts from the last group) has taken
        # every group after the first.
        deadline = time.monotonic() + 120
        while index > 0 and not self._flags[index] and time.monotonic() < deadline:
            time.sleep(0.05)
        return claim(self, index)

    monkeypatch.setattr(cleaning, "_text_columns", counted)
    monkeypatch.setattr(TaskClaims, "claim", after_the_worker)
    return here


def test_workers_clean_whole_days_to_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _days_of_chats()
    arguments = _cleaning_arguments()
    alone = clean_messages(raw, **arguments)
    here = _texts_cleaned_here_with_later_groups_left_to_the_worker(monkeypatch)
    workers = CleaningWorkers(1, "fasttext", min_rows=0)
    shared = clean_messages(raw, **arguments, workers=workers)
    pd.testing.assert_frame_equal(shared, alone)
    assert len(here) == 1 and 0 < here[0] < len(raw), "the worker cleaned the other days"
    # below `min_rows` no worker starts
    here.clear()
    small = clean_messages(raw, **arguments, workers=CleaningWorkers(1, "fasttext"))
    pd.testing.assert_frame_equal(small, alone)
    assert here == [len(raw)]


def test_a_worker_that_cannot_start_only_costs_time() -> None:
    raw = _days_of_chats()
    arguments = {
        "pseudonyms": Pseudonymizer("test-key"),
        "detector": language_detector("fasttext"),
        "tokenizers": Tokenizers(),
    }
    # the worker's own detector fails to build: its groups are cleaned here
    broken = CleaningWorkers(1, "no-such-detector", min_rows=0)
    pd.testing.assert_frame_equal(
        clean_messages(raw, **arguments, workers=broken), clean_messages(raw, **arguments)
    )


def test_a_range_cleaned_batch_by_batch_of_days_gives_the_same_rows() -> None:
    """`RangeCleaner` (the streamed benchmark's cleaning): batches of whole days, in day
    order, give the rows one batch of the range gives; the names seen in earlier batches are
    carried to the later ones, and one worker serves every batch."""
    arguments = _cleaning_arguments()
    lucia = _message(0, "hola", name="Lucía Pérez", conversation="family")
    told = replace(
        _message(1, "dile a Lucía que llego tarde", name=BOB_NAME, conversation="work"),
        sent_at=START + timedelta(days=1),
    )
    with RangeCleaner(**arguments) as cleaner:
        first = cleaner.clean(frame_of([lucia], MessageRecord))
        second = cleaner.clean(frame_of([told], MessageRecord))
    assert second["text_clean"].tolist() == ["dile a [NAME] que llego tarde"]
    whole = clean_messages(frame_of([lucia, told], MessageRecord), **arguments)
    pd.testing.assert_frame_equal(pd.concat([first, second], ignore_index=True), whole)

    raw = _days_of_chats()  # rows out of time order; odd days bring new senders' names
    alone = clean_messages(raw, earlier_names=["Mateo Gil"], **arguments)
    days = raw["sent_at"].dt.floor("D")
    first_day = days.min()
    batches = [
        days < first_day + pd.Timedelta(days=2),
        days == first_day + pd.Timedelta(days=2),
        days > first_day + pd.Timedelta(days=2),
    ]
    workers = CleaningWorkers(1, "fasttext", min_rows=0)
    with RangeCleaner(**arguments, workers=workers, earlier_names=["Mateo Gil"]) as cleaner:
        started = [cleaner.start(raw[batch]) for batch in batches]  # all in flight at once
        parts = [batch.result() for batch in started]
        with pytest.raises(ValueError, match="day order"):
            cleaner.clean(raw[days == first_day])
    positions = np.concatenate([np.flatnonzero(batch.to_numpy()) for batch in batches])
    expected = alone.iloc[positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), expected)


def test_range_workers_started_before_the_first_batch_serve_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`RangeCleaner.start_workers` starts the worker (tokenizers of `warm_languages`
    loaded) before any batch, whatever the batches' size: it cleans the first batch's
    groups after the first, with the same rows."""
    raw = _days_of_chats()
    arguments = {
        "pseudonyms": Pseudonymizer("test-key"),
        "detector": language_detector("fasttext"),
        "tokenizers": Tokenizers(),
    }
    alone = clean_messages(raw, **arguments)
    here = _texts_cleaned_here_with_later_groups_left_to_the_worker(monkeypatch)
    # min_rows far above the batch: start() alone would clean it without the worker
    workers = CleaningWorkers(1, "fasttext", min_rows=10**9, warm_languages=("es", None))
    with RangeCleaner(**arguments, workers=workers) as cleaner:
        cleaner.start_workers()
        cleaned = cleaner.clean(raw.sort_values("sent_at", kind="stable"))
    order = np.argsort(raw["sent_at"].to_numpy(), kind="stable")
    pd.testing.assert_frame_equal(cleaned, alone.iloc[order].reset_index(drop=True))
    assert len(here) == 1 and 0 < here[0] < len(raw), "the worker cleaned the other days"


def test_no_cyclic_collection_runs_while_a_batch_is_cleaned() -> None:
    """The collector is paused while a batch is cleaned (its full collections found nothing
    and cost a sixth of the cleaning's CPU) and left as the caller had it afterwards."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    def clean() -> pd.DataFrame:
        return clean_messages(
            _days_of_chats(),
            pseudonyms=Pseudonymizer("test-key"),
            detector=language_detector("fasttext"),
            tokenizers=Tokenizers(),
        )

    expected = clean()
    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)  # any allocation would start a collection
    gc.callbacks.append(seen)
    try:
        cleaner = RangeCleaner(
            pseudonyms=Pseudonymizer("test-key"),
            detector=language_detector("fasttext"),
            tokenizers=Tokenizers(),
        )
        batch = cleaner.start(_days_of_chats())
        started_before_result = len(started)
        result = batch.result()
        # a few as the pause starts and ends, against thousands were it not paused
        assert len(started) - started_before_result < 10
        assert gc.isenabled()
        gc.disable()
        clean()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
        gc.set_threshold(*thresholds)
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
