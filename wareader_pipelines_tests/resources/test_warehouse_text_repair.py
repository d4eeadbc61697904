"""Text no warehouse can store (NUL, lone surrogates) in ANY table is repaired at the write.

Raw messages are repaired where they are parsed; every other table (an LLM summary that
echoes a NUL, a quarantine excerpt, a report text) reaches the warehouse through the IO
manager, which must neither fail the partition nor lose the good rows beside the bad one.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines.resources.warehouse_backend import storable_frame

SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("summary_id", "text"),
        dg.TableColumn("day", "date"),
        dg.TableColumn("summary_text", "text"),
        dg.TableColumn("reason", "text"),
        dg.TableColumn("messages", "bigint"),
    ]
)
TEXTS = [
    "a clean summary",
    "an LLM echoed a NUL \x00 here",
    "bad \ud800 surrogate",
    "both \x00 and \udfff",
]


def summaries_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "summary_id": [f"s{i}" for i in range(len(TEXTS))],
            "day": [pd.Timestamp("2024-05-13").date()] * len(TEXTS),
            "summary_text": TEXTS,
            "reason": [None, "ok", "surrogate \udc00 in reason", None],
            "messages": list(range(len(TEXTS))),
        }
    )


def test_storable_frame_repairs_only_unstorable_values_and_counts_them_per_column() -> None:
    frame = summaries_frame()
    repaired, repairs = storable_frame(frame)
    assert repairs == {"summary_text": 3, "reason": 1}
    assert repaired.summary_text.tolist() == [
        "a clean summary",
        "an LLM echoed a NUL  here",
        "bad \ufffd surrogate",
        "both  and \ufffd",
    ]
    assert repaired.reason.tolist()[2] == "surrogate \ufffd in reason"
    assert repaired.reason.isna().tolist() == [True, False, False, True]
    assert frame.summary_text.tolist() == TEXTS, "the caller's frame is left as it was"
    clean = frame.iloc[:1]
    assert storable_frame(clean) == (clean, {})


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return str(tmp_path / "w.duckdb")
    return request.getfixturevalue("postgres_url")


def test_a_nul_or_lone_surrogate_in_any_table_is_stored_repaired_and_reported(
    warehouse_url: str,
) -> None:
    @dg.asset(metadata={"dagster/column_schema": SCHEMA})
    def summaries_with_hostile_text() -> pd.DataFrame:
        return summaries_frame()

    result = dg.materialize(
        [summaries_with_hostile_text],
        resources={"io_manager": WarehouseIOManager(url=warehouse_url)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("summaries_with_hostile_text")[0].metadata
    assert metadata["text_repairs"].value == {"summary_text": 3, "reason": 1}
    assert metadata["dagster/row_count"].value == len(TEXTS)
    stored = Warehouse(url=warehouse_url).query(
        "select summary_id, summary_text, reason from {schema}.summaries_with_hostile_text "
        "order by summary_id"
    )
    assert stored.summary_id.tolist() == ["s0", "s1", "s2", "s3"]
    assert stored.summary_text.tolist() == [
        "a clean summary",
        "an LLM echoed a NUL  here",
        "bad \ufffd surrogate",
        "both  and \ufffd",
    ]
    assert stored.reason.tolist()[1:3] == ["ok", "surrogate \ufffd in reason"]
