"""Behavioural baseline: a device against its own earlier windows and against its window."""

from __future__ import annotations

import numpy as np
import pytest

from ml.artifacts import load_model, save_model
from ml.models import BaselineDetector
from tests.ml.builders import regular_windows


@pytest.fixture(scope="module")
def windows():
    return regular_windows(8, outlier_window=6)


def test_history_flags_change(windows):
    detector = BaselineDetector(component="history", device="cpu", progress=False).fit(windows[:5])
    scores = detector.decision_function_batch(windows[5:])
    ids = [device for graph in windows[5:] for device in graph.devices["id"]]
    assert ids[int(np.argmax(scores))] == "10.0.0.5"


def test_flagged_window_not_learned(windows):
    detector = BaselineDetector(component="history", device="cpu", progress=False).fit(windows[:5])
    detector.decision_function_batch(windows[5:7])
    remembered = [start for start, _ in detector.history_["10.0.0.5"]]
    assert windows[6].window.start not in remembered
    assert windows[5].window.start in remembered


def test_history_only_earlier_windows(windows):
    detector = BaselineDetector(component="history", device="cpu", progress=False).fit(windows[:5])
    first = detector.decision_function(windows[2])
    detector.decision_function_batch(windows[5:])
    # Later windows entered the history; window 2 is still compared with windows 0 and 1 only.
    assert np.allclose(detector.decision_function(windows[2]), first)


def test_unseen_device_compared_with_silence(windows):
    detector = BaselineDetector(component="history", device="cpu", progress=False).fit(windows[:3])
    data = detector.prepare(windows[3])
    raw = detector.component_scores(data)["history"]
    silence = detector._silence()
    index = data.device_ids.index("10.0.0.2")
    detector.forget()
    unseen = detector.component_scores(data)["history"][index]
    expected = np.sqrt((((data.x[index].numpy() - silence) / 0.25) ** 2).mean())
    assert unseen == pytest.approx(expected)
    assert raw[index] < unseen


def test_components_combined(windows):
    detector = BaselineDetector(device="cpu", progress=False).fit(windows[:5])
    data = detector.prepare(windows[5])
    raw = detector.component_scores(data)
    known = raw["known"] > 0
    history = np.where(known, detector._cdf("history", raw["history"]), detector._cdf("novel", raw["history"]))
    expected = (history + detector._cdf("population", raw["population"])) / 2
    assert np.allclose(detector.decision_function(windows[5]), expected)


def test_baseline_saved_and_loaded(windows, tmp_path):
    detector = BaselineDetector(device="cpu", progress=False).fit(windows[:5])
    save_model(detector, directory=tmp_path)
    loaded, info = load_model("latest:baseline", directory=tmp_path, device="cpu")
    assert (info.path / "history.npz").is_file()
    assert np.allclose(loaded.decision_function(windows[6]), detector.decision_function(windows[6]))


def test_baseline_component_checked():
    with pytest.raises(ValueError, match="invalid component 'median'"):
        BaselineDetector(component="median")
