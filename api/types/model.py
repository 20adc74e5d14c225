"""The ``Model`` type: a trained model artifact and its metadata."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.types.scalars import Timestamp


@strawberry.type(description="A trained model that rescore can use.")
class Model:
    version: strawberry.ID = strawberry.field(description="The id scores carry as modelVersion; pass it as rescore(model:).")
    kind: str = strawberry.field(description="Model family, such as gcn or gae.")
    created: Timestamp
    metrics: JSON = strawberry.field(description="Evaluation metrics saved at training time, such as PR-AUC.")
    metadata: JSON = strawberry.field(description="Every metadata field of the artifact: hyper-parameters, features, training windows.")

    @classmethod
    def from_info(cls, info: Any) -> Model:
        """Build from an ``ml.artifacts.ModelInfo``."""
        # Metadata goes out as JSON, so values json cannot encode become strings.
        metadata = json.loads(json.dumps(info.metadata, default=str))
        return cls(
            version=strawberry.ID(info.version),
            kind=info.kind,
            created=Timestamp(info.created_at),
            metrics=JSON(metadata.get("metrics") or {}),
            metadata=JSON(metadata),
        )
