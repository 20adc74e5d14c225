"""Resolver of the ``models`` query and the model check of ``rescore``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import strawberry

from api.errors import InputError
from api.types.model import Model


def _list_models(models_dir: Path) -> list[Any]:
    # NOTE: ml.artifacts imports torch, so the first models query loads it into the API process (seconds, hundreds of MB).
    from ml.artifacts import list_models

    return list_models(models_dir)


def _resolve_model(ref: str, models_dir: Path) -> str | None:
    """Return None when ``ref`` names a saved model, else the registry's message saying why not."""
    from ml.artifacts import resolve_model
    from ml.errors import ModelNotFoundError

    try:
        resolve_model(ref, directory=models_dir)
    except ModelNotFoundError as error:
        return str(error)
    return None


async def resolve_models(info: strawberry.Info) -> list[Model]:
    """Trained models in the server's models folder, newest first."""
    models = await asyncio.to_thread(_list_models, info.context.state.models_dir)
    return [Model.from_info(model) for model in models]


async def check_model_known(info: strawberry.Info, model: str) -> None:
    """Raise InputError when ``model`` (a version id, latest or latest:<kind>) names no saved model."""
    problem = await asyncio.to_thread(_resolve_model, model, info.context.state.models_dir)
    if problem is not None:
        raise InputError(problem)
