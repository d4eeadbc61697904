"""Keyed pseudonyms: stable per key, different across keys, never showing the key."""

from __future__ import annotations

import pytest

from wareader_pipelines.nlp.pseudonyms import Pseudonymizer


def test_ids_are_stable_and_keyed() -> None:
    first, again, other = Pseudonymizer("k1"), Pseudonymizer("k1"), Pseudonymizer("k2")
    assert first.id_of("34612345678") == again.id_of("34612345678")
    assert first.id_of("34612345678") != other.id_of("34612345678")
    assert first.id_of("34612345678") != first.id_of("34612345679")
    assert len(first.id_of("x")) == 24
    assert first.id_of("x", prefix="u_").startswith("u_")


def test_the_key_and_the_value_never_show() -> None:
    pseudonyms = Pseudonymizer("super-secret")
    assert "super-secret" not in repr(pseudonyms)
    assert "34612345678" not in pseudonyms.id_of("34612345678")


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        Pseudonymizer("")
