"""The GraphQL investigation API: FastAPI app, Strawberry schema, API keys and limits."""

from __future__ import annotations

from api.app import create_app
from api.auth import KeyStore, Principal, Role
from api.schema import build_schema, export_sdl
from api.settings import Settings

__all__ = [
    "KeyStore",
    "Principal",
    "Role",
    "Settings",
    "build_schema",
    "create_app",
    "export_sdl",
]
