"""Train/validation/test splits of device-windows: the random node split and the temporal window split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class NodeSplit:
    """Boolean masks over the nodes of one (possibly multi-window) graph."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class WindowSplit:
    """Window starts of each part of a temporal split, each part oldest first."""

    train: list[float]
    validation: list[float]
    test: list[float]


def random_node_split(labels: np.ndarray, *, seed: int) -> NodeSplit:
    """Split the labelled nodes (label >= 0) 60/20/20 at random, per class.

    Splitting each class on its own keeps the class ratio equal across the
    parts. A class with ``n`` nodes gives ``max(1, round(0.6 n))`` to training,
    ``round(0.2 n)`` to validation and the rest to test, so a class with one
    node only trains and a class with two trains one and tests one.
    Unlabelled nodes are in no part.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    masks = [np.zeros(len(labels), dtype=bool) for _ in range(3)]
    for label in sorted(set(labels[labels >= 0].tolist())):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n = len(members)
        n_train = max(1, _round_half_up(SPLIT_FRACTIONS[0] * n))
        n_validation = min(n - n_train, _round_half_up(SPLIT_FRACTIONS[1] * n))
        masks[0][members[:n_train]] = True
        masks[1][members[n_train : n_train + n_validation]] = True
        masks[2][members[n_train + n_validation :]] = True
    return NodeSplit(train=masks[0], validation=masks[1], test=masks[2])


def temporal_window_split(window_starts: Sequence[float]) -> WindowSplit | str:
    """Split windows by time, or return why that is impossible.

    With ``n`` windows sorted by start, training gets the first
    ``max(1, floor(0.6 n))``, validation the next ``max(1, floor(0.2 n))`` and
    test the rest, which is at least one window, and so at least 20 % of them
    once ``n >= 5``. Fewer than 3 windows cannot give every part a window.
    """
    starts = sorted(float(start) for start in window_starts)
    n = len(starts)
    if n < 3:
        return f"temporal split impossible: {n} window(s), at least 3 are needed (training, validation, test)"
    # Integer arithmetic: 0.6 * n in floating point can land just below a whole number.
    n_train = max(1, (3 * n) // 5)
    n_validation = max(1, n // 5)
    return WindowSplit(
        train=starts[:n_train],
        validation=starts[n_train : n_train + n_validation],
        test=starts[n_train + n_validation :],
    )


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))
