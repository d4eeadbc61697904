"""The HTTP endpoint Meta calls: verifies webhook deliveries and lands them byte-exact.

`create_app` builds the ASGI app; `wareader-webhook-receiver` (see `cli`) serves it
with uvicorn. Nothing here imports Dagster definitions: the receiver runs as its
own process, beside the code location, and shares only the landing zone.
"""
