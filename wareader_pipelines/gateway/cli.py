"""`wareader-gateway`: serve the sign-in gateway with uvicorn, configured from the environment."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from wareader_pipelines.gateway.app import create_app
from wareader_pipelines.gateway.settings import GatewaySettings
from wareader_pipelines.resources.secrets import SecretsUnavailable, load_secrets_into_environment


def main(argv: list[str] | None = None) -> None:
    """Check the settings, then serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="wareader-gateway", description="Sign-in gateway in front of the Dagster UI."
    )
    parser.add_argument("--host", default=os.environ.get("WAREADER_GATEWAY_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("WAREADER_GATEWAY_PORT", "8443"))
    )
    arguments = parser.parse_args(argv)
    try:
        load_secrets_into_environment()
        settings = GatewaySettings.from_environ()
    except (ValueError, SecretsUnavailable) as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=arguments.host,
        port=arguments.port,
        # The access log would print callback query strings (authorization codes).
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    )


if __name__ == "__main__":
    main()
