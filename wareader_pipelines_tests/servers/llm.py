"""The fake model provider (`wareader_testkit/fake_llm.py`) as fixtures: one per session, reset
for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wareader_testkit.fake_llm import FakeLLMServer


@pytest.fixture(scope="session")
def llm_server_session() -> Iterator[FakeLLMServer]:
    """One fake provider per test session (per xdist worker)."""
    server = FakeLLMServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_server(llm_server_session: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The fake provider with an empty script and log for this test."""
    llm_server_session.reset()
    yield llm_server_session
    llm_server_session.reset()
