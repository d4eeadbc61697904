"""The one rule for keys that must stay inside their store."""

from __future__ import annotations

import pytest

from wareader_pipelines.lib.keys import inside_key


@pytest.mark.parametrize(
    "key",
    ["webhooks/dt=2024-05-01/a.json", "exports/.hidden.txt", "a..b/c", "x/.../y", "a.b"],
)
def test_plain_relative_keys_pass_unchanged(key: str) -> None:
    assert inside_key(key, store="zone") == key


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "./a", "a/./b", "a\\b", "a//b", "a/"],
)
def test_keys_that_could_leave_the_store_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="inside the zone"):
        inside_key(key, store="zone")
