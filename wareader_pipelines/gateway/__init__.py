"""The sign-in gateway in front of the Dagster UI: OpenID Connect through Authlib."""
