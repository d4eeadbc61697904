"""Emoji counted as the reader sees them: one per grapheme, the skin tone apart."""

from datetime import UTC, datetime

import pandas as pd

from wareader_pipelines.nlp.emoji_usage import EmojiUse, emoji_uses, message_emoji_frame


def test_sequences_are_one_emoji_and_the_skin_tone_is_split_off() -> None:
    found = emoji_uses("ok 👍🏽 👍🏿 👍 👨‍👩‍👧‍👦 👩🏽‍💻 🇧🇷🇦🇷 1️⃣ 🧑🏻‍🤝‍🧑🏿")
    assert found[EmojiUse("👍", "thumbs_up", "medium")] == 1
    assert found[EmojiUse("👍", "thumbs_up", "dark")] == 1
    assert found[EmojiUse("👍", "thumbs_up", None)] == 1
    assert found[EmojiUse("👨‍👩‍👧‍👦", "family_man_woman_girl_boy", None)] == 1
    assert found[EmojiUse("👩‍💻", "woman_technologist", "medium")] == 1
    assert found[EmojiUse("🇧🇷", "Brazil", None)] == 1  # two flags side by side stay two
    assert found[EmojiUse("🇦🇷", "Argentina", None)] == 1
    assert found[EmojiUse("1️⃣", "keycap_1", None)] == 1
    assert found[EmojiUse("🧑‍🤝‍🧑", "people_holding_hands", "mixed")] == 1
    assert sum(found.values()) == 9


def test_the_variation_selector_does_not_make_another_emoji() -> None:
    assert emoji_uses("❤ ❤️") == {EmojiUse("❤️", "red_heart", None): 2}


def test_texts_without_emoji_give_nothing() -> None:
    assert emoji_uses("plain text, ñandú, 東京") == {}
    assert emoji_uses(None) == {}


def test_the_frame_has_a_row_per_message_emoji_and_tone_and_skips_system_lines() -> None:
    at = datetime(2024, 5, 13, 9, tzinfo=UTC)
    messages = pd.DataFrame(
        {
            "message_id": ["m1", "m2", "m3"],
            "conversation_id": ["c", "c", "c"],
            "sender_id": ["s1", "s2", None],
            "sent_at": [at, at, at],
            "text_clean": ["👍🏽👍🏽 👍", "nothing", "👍 joined"],
            "emoji_count": [3, 0, 1],
            "is_system": [False, False, True],
        }
    )
    frame = message_emoji_frame(messages)
    assert list(zip(frame.message_id, frame.skin_tone, frame.occurrences, strict=True)) == [
        ("m1", None, 1),
        ("m1", "medium", 2),
    ]
    assert frame.emoji.tolist() == ["👍", "👍"]
