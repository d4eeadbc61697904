"""The real definitions run in-process over one landing zone and one warehouse, leanly.

For tests that need many runs (the run-order test) or a large zone (the 100k privacy scan):
the instance is in memory and runs skip the asset checks (they read tables, never write
them; a check Dagster cannot run apart from its asset still runs). Every run must succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pandas as pd
import pytest

from wareader_pipelines.cli.backfill import daily_asset_keys
from wareader_pipelines.definitions import defs
from wareader_pipelines.lib.partitions import RANGE_END_TAG, RANGE_START_TAG
from wareader_pipelines.lib.tables import MARTS_SCHEMA
from wareader_pipelines.resources.warehouse import backend_for

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
ANALYTICS = "analytics"  # the dbt models' group
# Variables that would point the definitions elsewhere than the test's own landing zone,
# LLM, mail and dbt target.
FOREIGN_SETTINGS = (
    "WAREADER_LANDING_URI",
    "WAREADER_LLM_PROVIDER",
    "WAREADER_EMAIL_BACKEND",
    "WAREADER_DBT_TARGET",
)


class Pipeline:
    """The definitions over a fresh copy of the sample landing zone and one warehouse, with
    the jobs the orders are made of."""

    def __init__(self, patch: pytest.MonkeyPatch, data: Path, url: str) -> None:
        """Definitions reading the landing zone `data`/landing and writing the warehouse `url`."""
        for name in FOREIGN_SETTINGS:
            patch.delenv(name, raising=False)
        patch.setenv("DO_NOT_TRACK", "1")
        patch.setenv("WAREADER_DATA_DIR", str(data))
        patch.setenv("WAREADER_WAREHOUSE_URL", url)
        if url.startswith("postgresql://"):  # dbt's postgres target reads libpq's variables
            parts = urlparse(url)
            patch.setenv("PGHOST", parts.hostname or "")
            patch.setenv("PGPORT", str(parts.port))
            patch.setenv("PGUSER", parts.username or "")
            patch.setenv("PGPASSWORD", "unused-with-trust-auth")
            patch.setenv("PGDATABASE", parts.path.lstrip("/"))
        self.url = url
        self.definitions = defs()
        self.instance = dg.DagsterInstance.ephemeral()
        graph = self.definitions.resolve_asset_graph()
        daily = daily_asset_keys(self.definitions)
        whole = [
            key
            for key in graph.get_all_asset_keys()
            if graph.get(key).is_materializable
            and graph.get(key).partitions_def is None
            and graph.get(key).group_name == ANALYTICS
        ]
        self.every_daily = self._job(daily)
        self.python_daily = self._job([k for k in daily if graph.get(k).group_name != ANALYTICS])
        self.daily_marts = self._job([k for k in daily if graph.get(k).group_name == ANALYTICS])
        self.whole_table_marts = self._job(whole)

    def _job(self, keys: Sequence[dg.AssetKey]) -> dg.JobDefinition:
        """The global asset job for `keys` without their asset checks (but those Dagster
        cannot run apart from their asset)."""
        chosen = set(keys)
        inseparable = {
            check
            for assets in self.definitions.resolve_asset_graph().assets_defs
            if not assets.can_subset and chosen & set(assets.keys)
            for check in assets.check_keys
        }
        job = self.definitions.resolve_implicit_global_asset_job_def()
        return job.get_subset(asset_selection=chosen, asset_check_selection=inseparable)

    def run(self, job: dg.JobDefinition, first: date | None = None, last: date | None = None):
        """One run of `job`, over the days [first, last] when it is partitioned."""
        tags = {}
        if first is not None and last is not None:
            tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        result = job.execute_in_process(
            run_config=QUIET, instance=self.instance, tags=tags, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]

    def tables(self, volatile: set[str] = frozenset()) -> dict[str, pd.DataFrame]:
        """Every table of the pipeline's schema and of the marts but their `volatile` columns,
        rows sorted, as text."""
        backend = backend_for(self.url, "wareader")
        names = backend.query(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema IN ('wareader', '{MARTS_SCHEMA}') ORDER BY 1, 2"
        )
        tables = {}
        for schema, table in names.itertuples(index=False):
            frame = backend.query(f'SELECT * FROM "{schema}"."{table}"')
            frame = frame.drop(columns=[c for c in frame.columns if c in volatile])
            text = frame.astype(str).sort_values(list(frame.columns)).reset_index(drop=True)
            tables[f"{schema}.{table}"] = text
        return tables
