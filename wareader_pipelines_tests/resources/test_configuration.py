"""Bad configuration is found before work starts: one line per problem, each with its fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wareader_pipelines.cli.main import main as wareader_main
from wareader_pipelines.definitions import defs
from wareader_pipelines.resources.configuration import cheap_problems, server_problems


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_embedded_defaults_have_no_problems() -> None:
    assert cheap_problems({}) == []


def test_each_bad_setting_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    problems = cheap_problems(
        {
            "WAREADER_EXPORT_TIMEZONE": "Mars/Olympus",
            "WAREADER_LLM_PROVIDER": "openai",
            "WAREADER_LANDING_URI": str(tmp_path / "missing"),
            "WAREADER_HISTORY_START": "last spring",
        }
    )
    assert len(problems) == 4
    assert all("\n" not in problem for problem in problems)
    text = "\n".join(problems)
    assert "'Mars/Olympus' is not an IANA time zone" in text and "Europe/Madrid" in text
    assert "needs OPENAI_API_KEY: set it, or unset WAREADER_LLM_PROVIDER" in text
    assert "missing is not a folder: create it" in text
    assert "'last spring' is not a date" in text
    assert cheap_problems({"WAREADER_LLM_PROVIDER": "openai", "OPENAI_API_KEY": "k"}) == []


def test_an_unreachable_postgresql_is_reported_without_its_password() -> None:
    url = f"postgresql://wareader:secret-pw@127.0.0.1:{_closed_port()}/wareader"
    (problem,) = server_problems({"WAREADER_WAREHOUSE_URL": url})
    assert "PostgreSQL at 127.0.0.1:" in problem and "start it" in problem
    assert "secret-pw" not in problem


def test_the_code_location_refuses_to_load_with_a_bad_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREADER_EXPORT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(Exception, match="Mars/Olympus"):
        defs()


def test_wareader_doctor_prints_the_problems_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("WAREADER_EXPORT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("WAREADER_LANDING_URI", str(tmp_path / "missing"))
    monkeypatch.delenv("WAREADER_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("WAREADER_LLM_PROVIDER", raising=False)
    assert wareader_main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("PROBLEM: ")] == [line for line in lines[:2]]
    assert lines[-1].startswith("2 problem(s)")
    monkeypatch.delenv("WAREADER_EXPORT_TIMEZONE")
    monkeypatch.delenv("WAREADER_LANDING_URI")
    assert wareader_main(["doctor"]) == 0
    assert capsys.readouterr().out.startswith("configuration OK")
