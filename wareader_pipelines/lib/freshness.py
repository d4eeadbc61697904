"""How fresh the tables the nightly sync refreshes must be."""

from datetime import timedelta

import dagster as dg

# The nightly sync refreshes yesterday's partition, then the marts: a day and a bit between
# materializations is normal, more than 30 hours means a nightly run was missed.
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
)
