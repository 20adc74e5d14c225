"""``iotgraph serve`` (the GraphQL API) and ``iotgraph schema`` (its SDL)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from pydantic import ValidationError

from iotgraph.commands.common import MODELS_HELP, STORE_HELP, fail

logger = logging.getLogger(__name__)


def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1, or IOTGRAPH_HOST).", show_default=False),
    port: int = typer.Option(None, "--port", help="TCP port (default 8000, or IOTGRAPH_PORT).", show_default=False),
    store: str = typer.Option(None, "--store", help=STORE_HELP, show_default=False),
    models: Path = typer.Option(None, "--models", help=MODELS_HELP, show_default=False),
    keys: Path = typer.Option(
        None, "--keys", help="API keys file (default IOTGRAPH_API_KEYS, else iotgraph-keys.json beside a SQLite store).", show_default=False
    ),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without API keys, every caller acting as admin; only on 127.0.0.1 or localhost."),
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql), /healthz and /metrics."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    overrides = {"host": host, "port": port, "store": store, "models": models, "api_keys": keys}
    try:
        settings = Settings(**{name: value for name, value in overrides.items() if value is not None}, **({"no_auth": True} if no_auth else {}))
    except ValidationError as error:
        fail(f"invalid API settings: {error}")

    if settings.no_auth:
        if not settings.local_only:
            fail(f"--no-auth is allowed only with --host 127.0.0.1 or localhost, not {settings.host!r}; create API keys with `iotgraph apikey create`")
        logger.warning("API keys are disabled (--no-auth): every request on %s:%d acts as admin", settings.host, settings.port)
    else:
        logger.info("API keys are read from %s", settings.keys_path)

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, proxy_headers=False)


def schema() -> None:
    """Print the GraphQL schema as SDL; regenerate the stored copy with `iotgraph schema > api/schema.graphql`."""
    from api.schema import export_sdl

    typer.echo(export_sdl(), nl=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("schema")(schema)
