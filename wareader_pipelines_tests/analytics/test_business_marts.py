"""The business-messaging marts from a hand-made account, on DuckDB and PostgreSQL alike.

Expected values are computed by hand from `business_sample.py` (2024-05-10 is a Friday;
default business hours 09:00-18:00 UTC on weekdays, SLA 60 minutes).
"""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wareader_pipelines.defs.analytics.project import DBT_DIR
from wareader_pipelines.resources.warehouse import backend_for
from wareader_pipelines_tests.analytics.business_sample import (
    ALICE,
    BRUNO,
    BUSINESS,
    CHAT_A,
    CHAT_B,
    at,
    write_business_sample,
)
from wareader_pipelines_tests.analytics.test_dbt_marts import dbt_build, normalized
from wareader_pipelines_tests.servers.postgres import PostgresServer

BUSINESS_MARTS = {
    "fct_outbound_messages": ["message_id"],
    "fct_service_windows": ["window_id"],
    "fct_first_responses": ["turn_id"],
    "dim_opt_outs": ["recipient_id", "opted_out_at"],
    "daily_business_metrics": ["metric_date", "business_number_id"],
}
SELECT = ["--select", "path:models/business path:seeds"]


def business_marts(url: str) -> dict[str, pd.DataFrame]:
    backend = backend_for(url, "marts")
    found = {}
    for table, keys in BUSINESS_MARTS.items():
        frame = normalized(backend.query(f"select * from marts.{table} order by {', '.join(keys)}"))
        for column in frame.columns:  # nullable booleans: pd.NA on one engine, None on the other
            if pd.api.types.is_bool_dtype(frame[column]) or frame[column].dtype == object:
                values = frame[column].astype(object)
                frame[column] = values.where(values.notna(), None)
        found[table] = frame
    return found


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> dict[str, dict[str, pd.DataFrame]]:
    """The marts built once per module on each engine (the tests only read them)."""
    tmp_path = tmp_path_factory.mktemp("business")
    duckdb_url = str(tmp_path / "warehouse.duckdb")
    found = {}
    for name, url in (("duckdb", duckdb_url), ("postgres", postgres_server.create_database())):
        write_business_sample(url)
        statuses = dbt_build(url, tmp_path / name, *SELECT)
        assert all(status in {"success", "pass"} for _, status in statuses), statuses
        assert sum(1 for _, status in statuses if status == "pass") >= 15
        found[name] = business_marts(url)
    return found


def test_both_warehouses_give_the_same_business_marts(built: dict) -> None:
    for table in BUSINESS_MARTS:
        pd.testing.assert_frame_equal(
            built["duckdb"][table], built["postgres"][table], check_dtype=False, obj=table
        )


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_outbound_status_never_goes_backwards_and_costs_what_was_delivered(
    built: dict, engine: str
) -> None:
    out = built[engine]["fct_outbound_messages"].set_index("message_id")
    assert list(out.index) == ["o1", "o2", "o3", "o4", "o5", "o6", "o7"]
    assert out.loc["o2", "known_from"] == "message" and out.loc["o1", "known_from"] == "statuses"
    assert dict(out.current_status) == {
        "o1": "read",  # its read came before its delivered
        "o2": "read",  # a failed after the read does not undo it
        "o3": "delivered",
        "o4": "failed",
        "o5": "delivered",
        "o6": "read",  # never delivered: read implies it
        "o7": "failed",  # known only from its failure
    }
    assert out.loc["o1", "delivered_at"] == pd.Timestamp(at(13, 9, 16))
    assert out.loc["o6", "delivered_at"] == pd.Timestamp(at(13, 11, 12))
    assert out.loc["o2", "failed_at"] == pd.Timestamp(at(13, 10, 5))
    assert out.loc["o7", "sent_at"] == pd.Timestamp(at(13, 11, 20))
    assert out.loc["o4", "error_code"] == 131050 and out.loc["o2", "error_code"] == 131026
    assert dict(out.in_service_window) == {
        "o1": False,  # Friday's window had closed on Saturday
        "o2": True,
        "o3": True,
        "o4": False,
        "o5": False,
        "o6": False,
        "o7": False,
    }
    assert (out.loc["o1", "recipient_id"], out.loc["o4", "recipient_id"]) == (ALICE, BRUNO)
    assert out.loc["o2", "recipient_country"] == "US"
    # PMP: o1 (US utility, delivered). CBP: conversation conv-b2 once (o5, not o6); o4 failed
    assert dict(out.is_charged[out.is_charged]) == {"o1": True, "o5": True}
    assert out.estimated_cost_usd.to_dict() == pytest.approx(
        {"o1": 0.004, "o2": 0, "o3": 0, "o4": 0, "o5": 0.008, "o6": 0, "o7": 0}
    )


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_service_windows_open_close_and_reopen(built: dict, engine: str) -> None:
    windows = built[engine]["fct_service_windows"]
    rows = windows[["conversation_id", "opened_at", "closes_at", "inbound_messages"]]
    assert list(rows.itertuples(index=False, name=None)) == [
        (CHAT_A, pd.Timestamp(at(10, 17, 30)), pd.Timestamp(at(11, 17, 30)), 1),
        (CHAT_A, pd.Timestamp(at(13, 9, 40)), pd.Timestamp(at(14, 9, 45)), 2),
        (CHAT_A, pd.Timestamp(at(14, 12, 0)), pd.Timestamp(at(16, 8, 0)), 2),  # reopened
    ]
    assert list(windows.outbound_in_window) == [0, 1, 1]
    assert set(windows.business_number_id) == {BUSINESS}
    assert CHAT_B not in set(windows.conversation_id)


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_first_responses_count_business_time_across_the_weekend(built: dict, engine: str) -> None:
    turns = built[engine]["fct_first_responses"].set_index("turn_id")
    assert list(turns.index) == ["m1", "m2", "m4", "m5"]  # m3 continues m2's turn
    # Friday 17:30 -> Monday 09:15: 63 h 45 min of clock, 30 + 15 minutes of business time
    assert turns.loc["m1", "response_seconds"] == 63 * 3600 + 45 * 60
    assert turns.loc["m1", "business_response_seconds"] == 45 * 60
    assert bool(turns.loc["m1", "sla_met"])
    assert turns.loc["m2", "response_seconds"] == 20 * 60  # the echo o2 answers
    assert turns.loc["m4", "response_seconds"] == 30 * 60
    assert pd.isna(turns.loc["m5", "first_response_at"]) and pd.isna(turns.loc["m5", "sla_met"])


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_opt_outs_from_keywords_and_131050_with_opt_in_again(built: dict, engine: str) -> None:
    opt_outs = built[engine]["dim_opt_outs"]
    rows = opt_outs[["recipient_id", "opted_out_at", "source", "keyword", "language"]]
    assert list(rows.itertuples(index=False, name=None)) == [
        (ALICE, pd.Timestamp(at(14, 12, 0)), "keyword", "stop", "en"),
        (BRUNO, pd.Timestamp(at(13, 11, 0, 10)), "error_131050", None, None),
    ]
    assert list(opt_outs.opted_in_again_at.isna()) == [False, True]
    assert opt_outs.opted_in_again_at.iloc[0] == pd.Timestamp(at(15, 8, 0))


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_daily_business_metrics(built: dict, engine: str) -> None:
    daily = built[engine]["daily_business_metrics"].set_index("metric_date")
    assert list(daily.index) == ["2024-05-10", "2024-05-13", "2024-05-14", "2024-05-15"]
    monday = daily.loc["2024-05-13"]
    assert (monday.inbound_messages, monday.outbound_messages) == (2, 6)
    assert monday.delivered_pct == pytest.approx(100 * 4 / 6)
    assert monday.read_pct == pytest.approx(50)
    assert (monday.failed_messages, monday.failed_by_error_code) == (2, "131047:1,131050:1")
    assert (monday.outbound_outside_window, monday.outside_window_131047_failures) == (5, 1)
    assert (monday.billable_messages, monday.billable_marketing, monday.billable_utility) == (
        4,
        1,
        3,
    )
    assert monday.estimated_cost_usd == pytest.approx(0.012)
    assert (monday.customer_turns, monday.median_first_response_seconds) == (1, 1200)
    assert (monday.sla_met_pct, monday.opt_outs) == (100, 1)
    friday = daily.loc["2024-05-10"]
    assert friday.p90_first_response_seconds == 63 * 3600 + 45 * 60
    assert friday.median_business_response_seconds == 45 * 60
    assert daily.loc["2024-05-14"].opt_outs == 1
    wednesday = daily.loc["2024-05-15"]
    assert (wednesday.customer_turns, wednesday.answered_turns) == (1, 0)
    assert pd.isna(wednesday.sla_met_pct)


def test_business_hours_time_zone_and_sla_are_dbt_vars(tmp_path: Path) -> None:
    url = str(tmp_path / "warehouse.duckdb")
    write_business_sample(url)
    overrides = {"business_timezone": "Europe/Madrid", "first_response_sla_minutes": 30}
    dbt_build(url, tmp_path / "madrid", *SELECT, "--vars", json.dumps(overrides))
    turns = business_marts(url)["fct_first_responses"].set_index("turn_id")
    # Madrid is UTC+2 in May: open 07:00-16:00 UTC. Friday 19:30 local is after closing;
    # Monday 09:15 UTC is 11:15 local: 2 h 15 min of business time, over a 30-minute SLA
    assert turns.loc["m1", "business_response_seconds"] == 2 * 3600 + 15 * 60
    assert not turns.loc["m1", "sla_met"]
    assert turns.loc["m2", "business_response_seconds"] == 20 * 60 and turns.loc["m2", "sla_met"]


def test_every_business_mart_column_is_described(built: dict) -> None:
    documented = yaml.safe_load((DBT_DIR / "models" / "business" / "business.yml").read_text())
    described = {
        model["name"]: {c["name"] for c in model.get("columns", []) if c.get("description")}
        for model in documented["models"]
    }
    for table, frame in built["duckdb"].items():
        assert set(frame.columns) == described[table], table
