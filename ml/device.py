"""Choice of the torch device from ``--device auto|cpu|cuda``."""

from __future__ import annotations

import logging

import torch

from ml.errors import DeviceUnavailableError

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Return the torch device that ``name`` selects.

    ``auto`` picks CUDA when ``torch.cuda.is_available()`` and the CPU otherwise. ``cuda``
    and ``cuda:N`` raise DeviceUnavailableError on a machine without CUDA.
    """
    if isinstance(name, torch.device):
        return name
    text = str(name).strip().lower()
    if text == "auto":
        chosen = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        logger.debug("device auto resolved to %s", chosen)
        return chosen
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"device {name!r} requested but torch {torch.__version__} found no CUDA device; use --device cpu or auto"
            )
        return torch.device(text)
    raise ValueError(f"invalid device {name!r}: expected auto, cpu, cuda or cuda:N")
