"""Settings of the API server, read from ``IOTGRAPH_*`` environment variables.

The API has no secret setting. API keys are stored hashed in the keys file
(``IOTGRAPH_API_KEYS``), and store credentials are part of the store URL.
Every request is appended to the audit file (``IOTGRAPH_AUDIT_LOG``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE_URL = "sqlite:///iotgraph.db"
KEYS_FILE_NAME = "iotgraph-keys.json"
AUDIT_FILE_NAME = "iotgraph-audit.jsonl"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(BaseSettings):
    """Store URL, keys file, models folder and the limits applied to every request."""

    model_config = SettingsConfigDict(env_prefix="IOTGRAPH_", extra="forbid", frozen=True)

    store: str = Field(default=DEFAULT_STORE_URL, description="store URL: sqlite:///path.db or neo4j://host:7687")
    api_keys: Path | None = Field(
        default=None,
        description="JSON file of hashed API keys; defaults to iotgraph-keys.json beside a SQLite store, else ./iotgraph-keys.json",
    )
    models: Path = Field(default=Path("models"), description="model registry folder, shared with the worker (IOTGRAPH_MODELS)")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    no_auth: bool = Field(default=False, description="serve without API keys; allowed on a loopback host only")

    max_depth: int = Field(default=8, ge=2, description="deepest selection nesting a query may use")
    max_aliases: int = Field(default=20, ge=0, description="aliases per query document")
    max_tokens: int = Field(default=2000, ge=50, description="lexical tokens per query document")
    max_page_size: int = Field(default=500, ge=1, description="largest first/limit of a list query")
    max_hops: int = Field(default=3, ge=1, description="largest hops of a neighborhood query")
    neighborhood_limit: int = Field(default=500, ge=1, description="node limit of a neighborhood query when the query sets none")
    max_neighborhood_limit: int = Field(default=5000, ge=1, description="largest node limit a neighborhood query may request")
    request_timeout: float = Field(default=30.0, gt=0, description="seconds a GraphQL request may run before it is cancelled")
    store_threads: int = Field(default=4, ge=1, description="threads that run store calls, each with its own store connection")
    worker_stale_after: float = Field(default=120.0, gt=0, description="seconds without a heartbeat after which /healthz reports a worker as stale")

    introspection: bool = Field(default=True, description="allow GraphQL introspection and GraphiQL; set false in production")
    cors_origins: str = Field(
        default="", description="comma-separated browser origins allowed to call the API; empty sends no CORS headers at all"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest HTTP request body in bytes; larger ones get 413")
    rate_limit: int = Field(default=1200, ge=0, description="GraphQL requests per minute one API key may send; 0 turns the limit off")
    rate_burst: int = Field(default=200, ge=1, description="requests an API key may send at once before the per-minute rate applies")
    audit_log: Path | None = Field(
        default=None, description="JSON-lines audit file; defaults to iotgraph-audit.jsonl beside a SQLite store, else ./iotgraph-audit.jsonl"
    )

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.neighborhood_limit > self.max_neighborhood_limit:
            raise ValueError(
                f"neighborhood_limit {self.neighborhood_limit} exceeds max_neighborhood_limit {self.max_neighborhood_limit}; "
                "raise IOTGRAPH_MAX_NEIGHBORHOOD_LIMIT or lower IOTGRAPH_NEIGHBORHOOD_LIMIT"
            )
        return self

    @property
    def keys_path(self) -> Path:
        """Return the keys file: ``api_keys`` when set, else beside a SQLite store file, else the working directory."""
        if self.api_keys is not None:
            return self.api_keys
        return default_keys_path(self.store)

    @property
    def local_only(self) -> bool:
        return self.host in LOCAL_HOSTS

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def audit_path(self) -> Path:
        """Return the audit file: ``audit_log`` when set, else beside a SQLite store file, else the working directory."""
        if self.audit_log is not None:
            return self.audit_log
        return default_keys_path(self.store).with_name(AUDIT_FILE_NAME)


def default_keys_path(store_url: str) -> Path:
    """Return ``iotgraph-keys.json`` in the folder of a SQLite store file, else in the working directory."""
    parts = urlsplit(store_url)
    if parts.scheme == "sqlite" and parts.path not in ("", "/", "/:memory:"):
        # sqlite:///relative.db has path "/relative.db" and sqlite:////abs.db has "//abs.db".
        store_file = Path(parts.path[1:]) if parts.path.startswith("/") else Path(parts.path)
        return store_file.parent / KEYS_FILE_NAME
    return Path(KEYS_FILE_NAME)
