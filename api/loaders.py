"""DataLoaders that batch the per-device store reads of one request.

A page of N devices, scores or neighbours loads their devices and scores
through these loaders, so it costs one ``devices_by_id`` call and one
``scores_for`` call per distinct window instead of N of each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from api.store_pool import StorePool
from graphdb.model import Device, DeviceScore

# A score lookup: (device id, window start); None as the window means the device's latest score.
ScoreKey = tuple[str, float | None]


@dataclass
class Loaders:
    devices: DataLoader[str, Device | None]
    scores: DataLoader[ScoreKey, DeviceScore | None]


def create_loaders(pool: StorePool) -> Loaders:
    """Return fresh loaders for one request, so cached rows never outlive it."""

    async def load_devices(device_ids: Sequence[str]) -> list[Device | None]:
        found = await pool.run(lambda store: store.devices_by_id(list(device_ids)))
        return [found.get(device_id) for device_id in device_ids]

    async def load_scores(keys: Sequence[ScoreKey]) -> list[DeviceScore | None]:
        by_window: dict[float | None, list[str]] = defaultdict(list)
        for device_id, window_start in keys:
            by_window[window_start].append(device_id)

        found: dict[ScoreKey, DeviceScore] = {}
        for window_start, device_ids in by_window.items():
            scores = await pool.run(lambda store, ids=device_ids, start=window_start: store.scores_for(ids, start))
            for device_id, score in scores.items():
                found[(device_id, window_start)] = score
        return [found.get(key) for key in keys]

    return Loaders(devices=DataLoader(load_fn=load_devices), scores=DataLoader(load_fn=load_scores))
