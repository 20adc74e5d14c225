"""Choice of the torch device from ``--device auto|cpu|cuda``, and of CPU threads by graph size."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ml.errors import DeviceUnavailableError

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# Below this many message-passing edges one torch thread scores faster than
# several. On the 2-core benchmark machine, shared with other work, one thread
# ran the GCN forward pass over 2 000 000 edges in 0.34 s and two threads took
# 0.69 s, and over 200 000 edges 0.03 s against 0.39 s (BENCHMARKS.md).
# NOTE: on an idle machine with more cores the break-even is likely lower;
# it was not measured there.
SINGLE_THREAD_EDGES = 4_000_000


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


@contextmanager
def torch_threads_for(edges: int) -> Iterator[int]:
    """Run the block with one torch CPU thread for graphs under ``SINGLE_THREAD_EDGES`` edges, and yield the thread count.

    Larger graphs keep the count in force. The previous count is restored on exit.
    """
    before = torch.get_num_threads()
    threads = 1 if edges < SINGLE_THREAD_EDGES else before
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)
