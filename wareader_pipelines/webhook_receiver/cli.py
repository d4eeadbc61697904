"""`wareader-webhook-receiver`: serve the receiver with uvicorn, configured from the environment."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from wareader_pipelines.resources.secrets import SecretsUnavailable, load_secrets_into_environment
from wareader_pipelines.webhook_receiver.connection_limits import (
    ConnectionLimits,
    EnvironmentProtocol,
    uvicorn_options,
)
from wareader_pipelines.webhook_receiver.settings import ReceiverSettings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, check the settings, and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="wareader-webhook-receiver",
        description="Receive Meta WhatsApp webhooks into the landing zone.",
    )
    parser.add_argument("--host", default=os.environ.get("WAREADER_WEBHOOK_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("WAREADER_WEBHOOK_PORT", "8080"))
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WAREADER_WEBHOOK_WORKERS", "1")),
        help="worker processes (each keeps its own re-delivery memory)",
    )
    arguments = parser.parse_args(argv)
    try:
        load_secrets_into_environment()  # WAREADER_SECRETS_BACKEND: aws or vault
        ReceiverSettings.from_environ()  # fail before binding the port, naming what is missing
        limits = ConnectionLimits.from_environ(os.environ)
    except (ValueError, SecretsUnavailable) as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        "wareader_pipelines.webhook_receiver.app:app_from_environment",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        # The access log would print the handshake's query string, verify token included.
        access_log=False,
        log_level="info",
        proxy_headers=True,
        # Header/body timeouts, keep-alive and connection limits (connection_limits.py).
        **uvicorn_options(limits, EnvironmentProtocol),
    )


if __name__ == "__main__":
    main()
