"""Saved models and the registry that finds them.

Each model is a folder ``<models dir>/<version>/`` containing ``model.pt`` (the
module's ``state_dict``) and ``metadata.json`` (kind, version, hyper-parameters,
feature list, scaler statistics, threshold, calibration, training windows,
label rule, metrics, creation time, torch and PyG versions). A version id
reads ``<kind>-<UTC time>-<6 hex digits>``, e.g. ``gcn-20261204T201500-ab12cd``.
The models folder is ``IOTGRAPH_MODELS``, or ``./models`` when that is unset.

Listing and resolving models reads only JSON, so the API can list models
without importing torch; saving and loading import it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.features import FEATURES
from ml.errors import FeatureMismatchError, ModelNotFoundError

if TYPE_CHECKING:
    import torch

    from ml.models import GraphDetector

logger = logging.getLogger(__name__)

MODELS_ENV = "IOTGRAPH_MODELS"
DEFAULT_MODELS_DIR = "models"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.pt"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelInfo:
    """A saved model's version, kind, creation time (epoch seconds), folder and full metadata."""

    version: str
    kind: str
    created_at: float
    path: Path
    metadata: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.metadata.get("metrics") or {}


def models_dir(path: str | Path | None = None) -> Path:
    """Return ``path``, else ``IOTGRAPH_MODELS``, else ``./models``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(MODELS_ENV) or DEFAULT_MODELS_DIR)


def new_version_id(kind: str, *, at: float | None = None) -> str:
    stamp = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"


def save_model(
    detector: GraphDetector,
    *,
    directory: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    at: float | None = None,
) -> ModelInfo:
    """Save a fitted detector under a new version id and return its registry entry.

    The folder is written under a temporary name and renamed at the end, so
    the registry never lists a half-written model.
    """
    import torch
    import torch_geometric

    created_at = time.time() if at is None else at
    version = new_version_id(detector.kind, at=created_at)
    root = models_dir(directory)
    root.mkdir(parents=True, exist_ok=True)

    metadata = {
        "format": FORMAT_VERSION,
        "version": version,
        "created_at": created_at,
        "created": datetime.fromtimestamp(created_at, tz=UTC).isoformat(),
        **detector.state(),
        "metrics": metrics or {},
        "torch_version": torch.__version__,
        "pyg_version": torch_geometric.__version__,
        **(extra or {}),
    }
    staging = root / f".{version}.partial"
    staging.mkdir()
    try:
        weights = {name: tensor.detach().cpu() for name, tensor in detector._fitted_module().state_dict().items()}
        torch.save(weights, staging / WEIGHTS_FILE)
        detector.write_artifacts(staging)
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
        staging.rename(root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("saved %s model %s under %s", detector.kind, version, root)
    return ModelInfo(version=version, kind=detector.kind, created_at=created_at, path=root / version, metadata=metadata)


def list_models(directory: str | Path | None = None, *, kind: str | None = None) -> list[ModelInfo]:
    """Return the saved models, newest first; folders without readable metadata are skipped with a warning."""
    root = models_dir(directory)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            metadata = json.loads((folder / METADATA_FILE).read_text())
            info = ModelInfo(
                version=metadata["version"],
                kind=metadata["kind"],
                created_at=float(metadata["created_at"]),
                path=folder,
                metadata=metadata,
            )
        except (OSError, ValueError, KeyError) as error:
            logger.warning("skipping model folder %s: unreadable %s (%s)", folder, METADATA_FILE, error)
            continue
        if kind is None or info.kind == kind:
            found.append(info)
    found.sort(key=lambda info: (info.created_at, info.version), reverse=True)
    return found


def resolve_model(ref: str = "latest", *, directory: str | Path | None = None) -> ModelInfo:
    """Find a model by version id, ``latest`` (any kind) or ``latest:<kind>``."""
    root = models_dir(directory)
    if ref == "latest" or ref.startswith("latest:"):
        kind = ref.partition(":")[2] or None
        models = list_models(root, kind=kind)
        if not models:
            described = f"{kind} model" if kind else "model"
            raise ModelNotFoundError(f"no saved {described} in {root}; train one with `iotgraph train` or set {MODELS_ENV}")
        return models[0]
    for info in list_models(root):
        if info.version == ref:
            return info
    raise ModelNotFoundError(
        f"model {ref!r} not found in {root}; pass a version id listed by `iotgraph models`, latest or latest:<kind>"
    )


def delete_model(ref: str, *, directory: str | Path | None = None) -> ModelInfo:
    """Delete a saved model's folder and return its registry entry; ``ref`` as for ``resolve_model``."""
    info = resolve_model(ref, directory=directory)
    shutil.rmtree(info.path)
    logger.info("deleted %s model %s from %s", info.kind, info.version, info.path)
    return info


def check_features(info: ModelInfo) -> None:
    """Raise FeatureMismatchError when a saved model's features differ from ``FEATURES``."""
    saved = list(info.metadata.get("features", []))
    if saved != list(FEATURES):
        raise FeatureMismatchError(info.version, saved=saved, current=FEATURES)


def load_model(
    ref: str = "latest",
    *,
    directory: str | Path | None = None,
    device: str | torch.device = "auto",
) -> tuple[GraphDetector, ModelInfo]:
    """Load a saved detector ready to score, and its registry entry.

    Raises ModelNotFoundError for an unknown reference and FeatureMismatchError
    when the model was trained on other features than this version computes.
    """
    import torch

    from ml.models import detector_class

    info = resolve_model(ref, directory=directory)
    check_features(info)
    weights = torch.load(info.path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    detector = detector_class(info.kind).from_state(info.metadata, weights, device=device)
    detector.read_artifacts(info.path)
    logger.info("loaded %s model %s from %s", info.kind, info.version, info.path)
    return detector, info
