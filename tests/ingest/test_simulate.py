"""Tests of the IoT network simulator and its attack scenarios."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ingest.scenarios import BEACON_PERIODS
from ingest.simulate import ATTACKS, SimulationConfig, SimulationResult, simulate
from tests.conftest import dataset_path

HEADER = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#open\t2023-11-14-22-13-20",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes"
    "\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes"
    "\ttunnel_parents   label   detailed-label",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount"
    "\tstring\tcount\tcount\tcount\tcount\tset[string]   string   string",
]
START = 1_700_000_000.0
SCENARIO_LABELS = {
    "mirai": {"PartOfAHorizontalPortScan", "C&C-FileDownload", "C&C", "DDoS"},
    "beacon": {"C&C"},
    "ddos": {"C&C", "DDoS"},
    "lateral": {"PartOfAHorizontalPortScan", "Attack"},
}


def _run(tmp_path: Path, name: str, **options: object) -> tuple[SimulationResult, Path]:
    path = tmp_path / f"{name}.conn.log.labeled"
    return simulate(SimulationConfig(**options), path), path


def _rows(path: Path) -> list[list[str]]:
    """Split each data line into its 23 IoT-23 columns."""
    rows = []
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        rows.append(fields[:-1] + fields[-1].split("   "))
    return rows


@pytest.fixture(scope="module")
def default_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    return _run(tmp_path_factory.mktemp("default"), "default")


@pytest.fixture(scope="module")
def every_attack(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    return _run(tmp_path_factory.mktemp("every"), "every", attacks=ATTACKS)


@pytest.fixture(scope="module")
def outbreak(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    # Enough vulnerable devices that the botnet spreads to several of them.
    return _run(tmp_path_factory.mktemp("outbreak"), "outbreak", devices=200, hours=4, infected_fraction=0.2)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    _, first = _run(tmp_path, "first", devices=30, hours=1, attacks=ATTACKS)
    _, second = _run(tmp_path, "second", devices=30, hours=1, attacks=ATTACKS)
    assert first.read_bytes() == second.read_bytes()


def test_other_seed_other_bytes(tmp_path: Path) -> None:
    _, first = _run(tmp_path, "first", devices=30, hours=1, seed=1)
    _, second = _run(tmp_path, "second", devices=30, hours=1, seed=2)
    assert first.read_bytes() != second.read_bytes()


def test_stream_output_matches_file(tmp_path: Path) -> None:
    _, path = _run(tmp_path, "file", devices=20, hours=1)
    stream = io.StringIO()
    simulate(SimulationConfig(devices=20, hours=1), stream)
    assert stream.getvalue() == path.read_text(encoding="ascii")


def test_header_layout(default_log: tuple[SimulationResult, Path]) -> None:
    lines = default_log[1].read_text(encoding="ascii").splitlines()
    assert lines[:8] == HEADER
    assert lines[-1] == "#close\t2023-11-15-04-13-20"


def test_header_matches_iot23_capture(default_log: tuple[SimulationResult, Path]) -> None:
    real = dataset_path("iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled").read_text(encoding="ascii").splitlines()
    simulated = default_log[1].read_text(encoding="ascii").splitlines()
    # Everything but the #open time is fixed by the format.
    assert simulated[:5] == real[:5]
    assert simulated[6:8] == real[6:8]


def test_rows_have_iot23_columns(default_log: tuple[SimulationResult, Path]) -> None:
    rows = _rows(default_log[1])
    assert {len(row) for row in rows} == {23}
    assert {row[20] for row in rows} == {"-"}
    assert {row[21] for row in rows} == {"Benign", "Malicious"}


def test_counts_match_result(default_log: tuple[SimulationResult, Path]) -> None:
    result, path = default_log
    rows = _rows(path)
    labels = Counter(row[22] for row in rows)
    assert len(rows) == result.flows
    assert sum(row[21] == "Malicious" for row in rows) == result.malicious_flows
    assert dict(labels) == result.labels
    assert labels["-"] == result.flows - result.malicious_flows


def test_benign_rows_have_no_detail(default_log: tuple[SimulationResult, Path]) -> None:
    pairs = {(row[21], row[22] == "-") for row in _rows(default_log[1])}
    assert pairs == {("Benign", True), ("Malicious", False)}


def test_timestamps_sorted_within_span(default_log: tuple[SimulationResult, Path]) -> None:
    ts = np.array([float(row[0]) for row in _rows(default_log[1])])
    assert np.all(np.diff(ts) >= 0)
    assert ts.min() >= START
    assert ts.max() < START + 6 * 3600


def test_uids_unique_and_zeek_like(default_log: tuple[SimulationResult, Path]) -> None:
    uids = [row[1] for row in _rows(default_log[1])]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"C[0-9A-Za-z]{17}", uid) for uid in uids)


def test_roles_of_sixty_devices(default_log: tuple[SimulationResult, Path]) -> None:
    # 59 devices by share (largest remainders) and one NAS.
    roles = Counter(default_log[0].roles.values())
    expected = {"camera": 11, "plug": 14, "thermostat": 5, "hub": 3, "phone": 14, "laptop": 12, "nas": 1, "gateway": 1}
    assert dict(roles) == expected
    assert default_log[0].roles["192.168.1.1"] == "gateway"
    assert default_log[0].devices == 60


def test_every_device_does_dns_and_ntp(default_log: tuple[SimulationResult, Path]) -> None:
    rows = _rows(default_log[1])
    devices = {ip for ip, role in default_log[0].roles.items() if role != "gateway"}
    dns = {row[2] for row in rows if row[4] == "192.168.1.1" and row[5] == "53" and row[6] == "udp"}
    ntp = {row[2] for row in rows if row[5] == "123" and row[6] == "udp"}
    assert dns == devices
    assert ntp == devices


def test_benign_states_mostly_sf(tmp_path: Path) -> None:
    _, path = _run(tmp_path, "benign", attacks=())
    states = Counter(row[11] for row in _rows(path))
    total = sum(states.values())
    assert states["SF"] / total > 0.9
    assert states["S0"] > 0
    assert states["REJ"] > 0


def test_benign_traffic_independent_of_attacks(tmp_path: Path, every_attack: tuple[SimulationResult, Path]) -> None:
    _, quiet = _run(tmp_path, "quiet", attacks=())
    without_uid = [row[:1] + row[2:] for row in _rows(quiet)]
    benign_of_attacked = [row[:1] + row[2:] for row in _rows(every_attack[1]) if row[21] == "Benign"]
    assert benign_of_attacked == without_uid


@pytest.mark.parametrize("attack", ATTACKS)
def test_scenario_detailed_labels(tmp_path: Path, attack: str) -> None:
    result, path = _run(tmp_path, attack, attacks=(attack,))
    malicious = {row[22] for row in _rows(path) if row[21] == "Malicious"}
    assert malicious == SCENARIO_LABELS[attack]
    assert result.infected


def test_every_attack_infects_disjoint_devices(every_attack: tuple[SimulationResult, Path]) -> None:
    result = every_attack[0]
    # Mirai reaches 2 of the 21 telnet-exposed devices, ddos takes 2 more; beacon and lateral take one each.
    assert len(result.infected) == 7


def test_mirai_spread_times_increase(outbreak: tuple[SimulationResult, Path]) -> None:
    times = list(outbreak[0].infected.values())
    assert len(times) >= 5
    assert all(later > earlier for earlier, later in zip(times, times[1:]))


def test_mirai_victims_infected_by_bots(outbreak: tuple[SimulationResult, Path]) -> None:
    result, path = outbreak
    logins = {row[4]: row[2] for row in _rows(path) if row[22] == "C&C-FileDownload" and row[5] == "23"}
    victims = list(result.infected)[1:]
    for victim in victims:
        infector = logins[victim]
        assert infector in result.infected
        assert result.infected[infector] < result.infected[victim]


def test_mirai_patient_zero_is_camera(outbreak: tuple[SimulationResult, Path]) -> None:
    result = outbreak[0]
    patient_zero = next(iter(result.infected))
    assert result.roles[patient_zero] == "camera"
    assert START + 0.24 * 4 * 3600 <= result.infected[patient_zero] <= START + 0.26 * 4 * 3600


def test_mirai_bots_scan_after_infection(outbreak: tuple[SimulationResult, Path]) -> None:
    result, path = outbreak
    first_scan: dict[str, float] = {}
    for row in _rows(path):
        if row[22] == "PartOfAHorizontalPortScan":
            first_scan.setdefault(row[2], float(row[0]))
    assert set(first_scan) == set(result.infected)
    assert all(first_scan[ip] > when for ip, when in result.infected.items())


def test_mirai_scanners_grow_over_time(outbreak: tuple[SimulationResult, Path]) -> None:
    span = 4 * 3600
    early, late = set(), set()
    for row in _rows(outbreak[1]):
        ts = float(row[0])
        if row[22] != "PartOfAHorizontalPortScan":
            continue
        if ts < START + 0.35 * span:
            early.add(row[2])
        elif ts >= START + 0.65 * span:
            late.add(row[2])
    assert len(late) > len(early)


def test_mirai_login_flows_reach_victims(outbreak: tuple[SimulationResult, Path]) -> None:
    result, path = outbreak
    logins = {row[4] for row in _rows(path) if row[22] == "C&C-FileDownload" and row[5] == "23"}
    assert logins == set(result.infected)


def test_mirai_flood_from_every_bot(outbreak: tuple[SimulationResult, Path]) -> None:
    result, path = outbreak
    rows = [row for row in _rows(path) if row[22] == "DDoS"]
    assert {row[2] for row in rows} == set(result.infected)
    assert len({row[4] for row in rows}) == 1
    assert min(float(row[0]) for row in rows) >= START + 0.70 * 4 * 3600


def test_infected_camera_keeps_benign_traffic(outbreak: tuple[SimulationResult, Path]) -> None:
    result, path = outbreak
    patient_zero, infected_at = next(iter(result.infected.items()))
    benign_after = [row for row in _rows(path) if row[2] == patient_zero and row[21] == "Benign" and float(row[0]) > infected_at]
    assert benign_after


def test_beacon_period(tmp_path: Path) -> None:
    result, path = _run(tmp_path, "beacon", attacks=("beacon",))
    ts = np.array([float(row[0]) for row in _rows(path) if row[22] == "C&C"])
    period = float(np.median(np.diff(ts)))
    assert min(abs(period - candidate) / candidate for candidate in BEACON_PERIODS) < 0.05
    assert len({row[2] for row in _rows(path) if row[22] == "C&C"}) == 1


def test_lateral_probes_three_ports(tmp_path: Path) -> None:
    result, path = _run(tmp_path, "lateral", attacks=("lateral",))
    rows = [row for row in _rows(path) if row[21] == "Malicious"]
    laptop = next(iter(result.infected))
    assert result.roles[laptop] == "laptop"
    assert {row[2] for row in rows} == {laptop}
    assert {row[5] for row in rows if row[22] == "PartOfAHorizontalPortScan"} == {"22", "445", "23"}
    assert all(row[4].startswith("192.168.") for row in rows)


def test_five_hundred_devices_addresses(tmp_path: Path) -> None:
    result, path = _run(tmp_path, "large", devices=500, hours=2, attacks=ATTACKS)
    internal = {row[column] for row in _rows(path) for column in (2, 4) if row[column].startswith("192.168.")}
    assert len(internal) >= 500
    assert {"192.168.1.1", "192.168.2.1"} <= set(result.roles)


def test_rate_option_sizes_output(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "sized", devices=50, hours=4, attacks=(), flows_per_device_hour=20)
    assert abs(result.flows - 50 * 4 * 20) / (50 * 4 * 20) < 0.1


@pytest.mark.parametrize(
    "options",
    [
        {"attacks": ("worm",)},
        {"devices": 2},
        {"hours": 0},
        {"infected_fraction": 1.5},
        {"flows_per_device_hour": -1.0},
    ],
)
def test_config_rejects_invalid(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulationConfig(**options)


def test_readers_read_every_line(default_log: tuple[SimulationResult, Path]) -> None:
    readers = pytest.importorskip("ingest.readers")
    if not hasattr(readers, "open_flows"):
        pytest.skip("needs ingest.readers.open_flows; the package does not define it yet")
    result, path = default_log
    reader = readers.open_flows(path)
    flows = reader.read_all()
    assert reader.report.accounted()
    assert reader.report.skipped == 0
    assert len(flows) == result.flows
    assert int((flows["label"] == "malicious").sum()) == result.malicious_flows
