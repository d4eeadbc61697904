"""in_time_order says yes only when a stable sort by (time, id) would keep the rows as they are."""

from __future__ import annotations

import pandas as pd
import pytest

from wareader_pipelines.frame_rows import in_time_order, nanosecond_times


def _frame(times: list[str | None], ids: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {"sent_at": pd.to_datetime(times, utc=True).as_unit("us"), "message_id": ids}
    )


@pytest.mark.parametrize(
    ("times", "ids", "ordered"),
    [
        (["2024-01-01 10:00", "2024-01-01 11:00"], ["b", "a"], True),  # times decide
        (["2024-01-01 11:00", "2024-01-01 10:00"], ["a", "b"], False),
        (["2024-01-01 10:00", "2024-01-01 10:00"], ["a", "b"], True),  # ties: ids decide
        (["2024-01-01 10:00", "2024-01-01 10:00"], ["b", "a"], False),
        (["2024-01-01 10:00", "2024-01-01 10:00"], ["a", "a"], True),  # stable: kept
        (["2024-01-01 10:00", "2024-01-01 10:00"], ["a", None], False),  # not comparable
        (["2024-01-01 10:00", None], ["a", "b"], False),  # a sort moves NaT last
        ([None, "2024-01-01 10:00"], ["a", "b"], False),
        (["2024-01-01 10:00"], ["a"], True),
    ],
)
def test_in_time_order_agrees_with_a_stable_sort(
    times: list[str | None], ids: list[str | None], ordered: bool
) -> None:
    frame = _frame(times, ids)
    assert in_time_order(frame, "sent_at", "message_id") is ordered
    if ordered:  # the claim itself: sorting changes nothing
        pd.testing.assert_frame_equal(
            frame.sort_values(["sent_at", "message_id"], kind="stable"), frame
        )


def test_times_that_are_not_a_datetime_column_are_left_to_the_sort() -> None:
    frame = pd.DataFrame({"sent_at": ["2024-01-01", "2024-01-02"], "message_id": ["a", "b"]})
    assert in_time_order(frame, "sent_at", "message_id") is False


def test_nanosecond_times_give_what_a_frame_of_the_rows_values_holds() -> None:
    times = pd.Series(pd.to_datetime(["2024-01-01 10:00:00.123456", None], utc=True).as_unit("us"))
    from_rows = pd.DataFrame({"t": times.tolist()})["t"]
    whole = pd.DataFrame({"t": nanosecond_times(times)})["t"]
    pd.testing.assert_series_equal(whole, from_rows, check_exact=True)
    objects = pd.Series([pd.Timestamp("2024-01-01", tz="UTC"), None], dtype=object)
    assert nanosecond_times(objects) == objects.tolist()
