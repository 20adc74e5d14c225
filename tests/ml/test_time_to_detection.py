"""Detection delays of the time-to-detection experiment, counted by hand."""

from __future__ import annotations

import numpy as np

from experiments.time_to_detection import detection_delays
from ingest.simulate import SimulationResult
from ml.evaluate import ScoredWindow
from ml.evaluate_data import Dataset
from tests.ml.builders import T0, WINDOW, edge, window_graph


def test_delays_by_hand():
    graphs = [window_graph([edge("10.0.0.2", "10.0.0.3"), edge("10.0.0.4", "8.8.8.8")], start=T0 + k * WINDOW) for k in range(4)]
    # Devices in id order: 10.0.0.2, 10.0.0.3, 10.0.0.4, 8.8.8.8.
    simulation = SimulationResult(
        flows=0, devices=3, malicious_flows=0,
        infected={"10.0.0.2": T0 + 310.0, "10.0.0.3": T0 + 50.0},
        roles={"10.0.0.2": "camera", "10.0.0.3": "plug", "10.0.0.4": "laptop"},
    )  # fmt: skip
    dataset = Dataset(name="toy", graphs=graphs, features=[], simulation=simulation)
    windows = [
        ScoredWindow(start=0.0, device_labels=np.zeros(4), device_scores=np.array(scores), edge_labels=np.zeros(0), edge_scores=np.zeros(0))
        for scores in ([0.9, 0.1, 0.1, 0.9], [0.1, 0.1, 0.8, 0.9], [0.1, 0.1, 0.1, 0.9], [0.9, 0.1, 0.9, 0.9])
    ]
    result = detection_delays(dataset, windows, 0.5, window_seconds=WINDOW)
    # 10.0.0.2 was infected in window 1; its alarm in window 0 came before the infection, the next in window 3.
    assert result["delays"]["10.0.0.2"] == 2
    assert result["delays"]["10.0.0.3"] is None
    # 10.0.0.4 (never infected) reached the threshold in windows 1 and 3; 8.8.8.8 is not a simulated device.
    assert result["false_alarm_devices"] == 1
    assert result["false_alarm_device_windows"] == 2
