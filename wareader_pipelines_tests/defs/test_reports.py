"""The report assets over a dbt-built DuckDB warehouse: pictures in the UI, same bytes again."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg

from wareader_pipelines.defs.reports.assets import (
    OVERVIEW_PICTURE,
    account_overview,
    conversation_reports,
)
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines_tests.analytics.test_dbt_marts import dbt_build
from wareader_pipelines_tests.analytics.warehouse_sample import write_sample

MAY = "2024-05-01"


def _run(url: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [conversation_reports],
        partition_key=MAY,
        resources={"io_manager": WarehouseIOManager(url=url), "warehouse": Warehouse(url=url)},
        run_config={"ops": {"conversation_reports": {"config": {"min_messages": 3}}}},
    )


def test_reports_show_in_the_ui_and_rebuild_to_the_same_bytes(tmp_path: Path) -> None:
    url = str(tmp_path / "warehouse.duckdb")
    write_sample(url)
    dbt_build(url, tmp_path / "dbt")

    first = _run(url)
    metadata = first.asset_materializations_for_node("conversation_reports")[0].metadata
    assert metadata["reports"].value == 2  # c1 (7 messages) and c2 (4)
    assert "](data:image/png;base64," in metadata["pictures"].value
    table = Warehouse(url=url).query(
        "select * from {schema}.conversation_reports order by conversation_id"
    )
    assert list(table.conversation_id) == ["c1", "c2"]
    assert list(table.message_count) == [7, 4]
    png = base64.b64decode(table.png_base64.iloc[0])
    assert png.startswith(b"\x89PNG")

    second = _run(url)
    redrawn = second.asset_materializations_for_node("conversation_reports")[0].metadata
    assert redrawn["redrawn"].value == 0  # unchanged inputs: the stored pages are kept
    again = Warehouse(url=url).query(
        "select * from {schema}.conversation_reports order by conversation_id"
    )
    assert list(again.png_sha256) == list(table.png_sha256)

    overview = dg.materialize([account_overview], resources={"warehouse": Warehouse(url=url)})
    evaluation = overview.get_asset_check_evaluations()[0]
    assert evaluation.check_name == OVERVIEW_PICTURE and evaluation.passed
    shown = overview.asset_materializations_for_node("account_overview")[0].metadata
    assert shown["conversations"].value == 2 and shown["messages"].value == 11
    assert shown["overview"].value.startswith("![account overview](data:image/png;base64,")
