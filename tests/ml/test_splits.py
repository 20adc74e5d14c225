"""Random node splits and temporal window splits."""

from __future__ import annotations

import numpy as np
import pytest

from ml.splits import random_node_split, temporal_window_split


@pytest.fixture
def labels():
    # 10 anomalous, 40 normal, 5 unknown.
    return np.array([1] * 10 + [0] * 40 + [-1] * 5)


def test_random_split_sizes_per_class(labels):
    split = random_node_split(labels, seed=0)
    assert (labels[split.train] == 1).sum() == 6
    assert (labels[split.validation] == 1).sum() == 2
    assert (labels[split.test] == 1).sum() == 2
    assert (labels[split.train] == 0).sum() == 24
    assert (labels[split.validation] == 0).sum() == 8
    assert (labels[split.test] == 0).sum() == 8


def test_random_split_disjoint(labels):
    split = random_node_split(labels, seed=0)
    assert not (split.train & split.validation).any()
    assert not (split.train & split.test).any()
    assert not (split.validation & split.test).any()


def test_random_split_skips_unknown(labels):
    split = random_node_split(labels, seed=0)
    covered = split.train | split.validation | split.test
    assert not covered[labels == -1].any()
    assert covered[labels >= 0].all()


def test_random_split_seeded(labels):
    first = random_node_split(labels, seed=3)
    second = random_node_split(labels, seed=3)
    assert (first.test == second.test).all()


def test_random_split_single_node_class():
    split = random_node_split(np.array([1, 0, 0, 0, 0, 0]), seed=0)
    assert split.train[0]


def test_temporal_split_ten_windows():
    split = temporal_window_split([float(k) for k in range(10)][::-1])
    assert split.train == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert split.validation == [6.0, 7.0]
    assert split.test == [8.0, 9.0]


def test_temporal_split_three_windows():
    split = temporal_window_split([0.0, 1.0, 2.0])
    assert (split.train, split.validation, split.test) == ([0.0], [1.0], [2.0])


def test_temporal_split_day_of_five_minute_windows():
    split = temporal_window_split([300.0 * k for k in range(288)])
    assert (len(split.train), len(split.validation), len(split.test)) == (172, 57, 59)


def test_temporal_split_impossible():
    assert temporal_window_split([0.0, 300.0]) == (
        "temporal split impossible: 2 window(s), at least 3 are needed (training, validation, test)"
    )
