"""A frame's rows handled whole: whether they already stand in (time, id) order, and their
times as a column.

The warehouse hands a step its rows ordered by the table's `order_by` (sent_at,
message_id): sorting them again by the same keys only costs the factorizing of
every id. A stable sort of rows already in order keeps them as they are, so when
`in_time_order` says yes, the frame as it stands is the sorted one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def in_time_order(frame: pd.DataFrame, time_column: str, id_column: str) -> bool:
    """True when `frame`'s rows are ordered by `time_column` (a datetime column without
    missing values) and then by `id_column` (strings compared as Python compares them, as
    pandas' sort does); False whenever that cannot be told cheaply."""
    if len(frame) < 2:
        return True
    times = frame[time_column]
    if not (isinstance(times.dtype, pd.DatetimeTZDtype) or times.dtype.kind == "M"):
        return False
    if times.isna().any():
        return False  # a sort places missing times last, whatever their position
    moments = times.array.asi8
    ids = frame[id_column].to_numpy(dtype=object)
    later = moments[1:] > moments[:-1]
    same = moments[1:] == moments[:-1]
    if not (later | same).all():
        return False
    tied = np.flatnonzero(same)
    if len(tied) == 0:
        return True
    try:
        return bool((ids[tied + 1] >= ids[tied]).all())
    except TypeError:  # ids that are not all comparable (a missing id): let the sort decide
        return False


def nanosecond_times(values: pd.Series) -> object:
    """`values` as a frame built from the rows' own values holds them (a datetime column in
    nanoseconds), taken whole from a datetime column instead of one Timestamp per row."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
        return values.array.as_unit("ns")
    return values.tolist()
