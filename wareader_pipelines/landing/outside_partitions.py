"""Messages no daily partition can hold, turned into quarantine rows that say why.

A window keeps the messages sent inside it, so a message sent before the
partitions start (an old export) or after its own file landed (a phone whose
clock says 2099) would otherwise belong to no window and vanish without a
word. Such messages become `quarantine` rows instead: one per message, filed
under the day its file landed (a day whose run always reads that file; the
first partition if the file is older), with a reason naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pandas as pd

# A message may carry a time a little after its file landed (clock skew, a wrong export
# time zone of up to 14 hours); beyond this it cannot have been sent when it says.
FUTURE_TOLERANCE = timedelta(days=1)


def split_outside_partitions(
    messages: pd.DataFrame,
    landed_at_by_file: Mapping[str, datetime] | pd.Series,
    *,
    first_day: datetime,
    history_setting: str = "WAREADER_HISTORY_START",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(messages a partition can hold, quarantine rows for the others).

    `messages` has raw_messages' columns; `landed_at_by_file` maps each source file to
    when it reached the landing zone (a Series indexed by file, for many calls with one
    large mapping: pandas turns a dict into one at every call); `first_day` is the first
    partition's start (UTC).
    """
    columns = ["source_file", "location", "reason", "excerpt", "landed_at", "partition_at"]
    if messages.empty:
        return messages, pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    sent = pd.to_datetime(messages["sent_at"], utc=True)
    landed = pd.to_datetime(messages["source_file"].map(landed_at_by_file), utc=True)
    first = pd.Timestamp(first_day)
    too_old = sent < first
    too_new = ~too_old & landed.notna() & (sent > landed + FUTURE_TOLERANCE)
    outside = too_old | too_new
    if not outside.any():
        return messages, pd.DataFrame({c: pd.Series(dtype="object") for c in columns})

    rows = messages.loc[outside, ["source_file", "location", "message_type", "message_id"]]
    sent_out, landed_out, old = sent[outside], landed[outside], too_old[outside]
    sent_day = sent_out.dt.strftime("%Y-%m-%d")
    first_text = first.strftime("%Y-%m-%d")
    reason_old = (
        "sent on " + sent_day + f", before the first daily partition ({first_text}): set "
        f"{history_setting} to that day or earlier and backfill from it to keep it"
    )
    reason_new = (
        "sent at "
        + sent_out.dt.strftime("%Y-%m-%d %H:%M UTC")
        + " by the sender's clock, after its file landed ("
        + landed_out.dt.strftime("%Y-%m-%d %H:%M UTC")
        + "): the clock was wrong, so no day's partition can hold it"
    )
    quarantine = pd.DataFrame(
        {
            "source_file": rows["source_file"].to_numpy(),
            "location": rows["location"].to_numpy(),
            "reason": reason_old.where(old, reason_new).to_numpy(),
            # The message's kind and id, never its text: the reason is about its time.
            "excerpt": (rows["message_type"] + " message " + rows["message_id"]).to_numpy(),
            "landed_at": landed_out.where(landed_out.notna(), first).to_numpy(),
            "partition_at": landed_out.where(landed_out >= first, first).to_numpy(),
        }
    )
    return messages.loc[~outside], quarantine
