"""A one-asset code location for the real Dagster webserver the gateway tests sign in to."""

import dagster as dg


@dg.asset
def gateway_probe() -> int:
    return 1


defs = dg.Definitions(assets=[gateway_probe])
