"""Labelled attack scenarios added on top of a simulated network's benign traffic.

Each scenario compromises devices that no earlier scenario took and returns
its flows with IoT-23 detailed labels. Times are shares of the span, so the
scenarios sit apart in time whatever its length:

- ``beacon`` from about 15 %: one IoT device calls a C&C server every N seconds.
- ``mirai`` from 25 %: a camera is infected from outside, scans for telnet,
  infects vulnerable devices, which scan in turn, and at 70 % every bot floods
  one victim.
- ``lateral`` at 40 %: a laptop sweeps its /24 and the NAS boxes for SSH, SMB
  and telnet, then logs in to a few devices.
- ``ddos`` at 50 %: a few bots take a command and flood one victim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ingest.simulate import (
    ATTACKS,
    HUMAN_ROLES,
    IOT_ROLES,
    ROLES,
    STATES,
    FlowBatch,
    Network,
    connections,
    lognormal,
    random_public,
)

logger = logging.getLogger(__name__)

TELNET_PORTS = (23, 2323)
LATERAL_PORTS = (22, 445, 23)
CNC_PORTS = (6667, 23, 48101)
BEACON_PORTS = (443, 8443, 4444)
BEACON_PERIODS = (30.0, 60.0, 120.0)  # seconds

SCAN_RATE = 0.25  # telnet probes per second and bot
SCAN_INTERNAL_SHARE = 0.2  # share of probes aimed at the local /24s
HEARTBEAT_PERIOD = 60.0  # seconds between a bot's C&C connections
FLOOD_RATE = 2.5  # flood flows per second and bot
SWEEP_RATE = 25.0  # lateral probes per second


@dataclass
class AttackContext:
    """Inputs of one scenario: the network, its own random stream and the span in epoch seconds."""

    network: Network
    rng: np.random.Generator
    start: float
    end: float
    infected_fraction: float
    compromised: set[int] = field(default_factory=set)  # device indices taken by earlier scenarios

    @property
    def span(self) -> float:
        return self.end - self.start

    def at(self, share: float) -> float:
        """Return the epoch time ``share`` of the way through the span."""
        return self.start + share * self.span

    def free(self, devices: np.ndarray) -> np.ndarray:
        """Return the ``devices`` that no scenario has compromised yet."""
        return np.array([device for device in devices.tolist() if device not in self.compromised], dtype=np.int64)


@dataclass
class Outbreak:
    """Flows of one scenario and the devices it compromised (address number -> epoch seconds)."""

    flows: FlowBatch
    infected: dict[int, float]


def run_attacks(
    names: Iterable[str], network: Network, *, seed: int, start: float, end: float, infected_fraction: float
) -> tuple[FlowBatch, dict[int, float]]:
    """Run the named scenarios in ATTACKS order; return their flows and infection times by address."""
    chosen = set(names)
    batches = []
    infected: dict[int, float] = {}
    compromised: set[int] = set()
    for index, name in enumerate(ATTACKS):
        if name not in chosen:
            continue
        # One stream per scenario keeps each scenario's flows independent of the others chosen.
        rng = np.random.default_rng([seed, 3, index])
        context = AttackContext(network, rng, start, end, infected_fraction, compromised)
        outbreak = SCENARIOS[name](context)
        batches.append(outbreak.flows)
        for address, when in outbreak.infected.items():
            infected.setdefault(address, when)
        logger.debug("scenario %s: %d flows, %d devices compromised", name, len(outbreak.flows), len(outbreak.infected))
    return FlowBatch.concat(batches), infected


# --------------------------------------------------------------------------- shared steps


def probe_states(rng: np.random.Generator, network: Network, dst: np.ndarray, port: np.ndarray) -> np.ndarray:
    """Return the conn_state code with which each probe of (dst, port) ends.

    On internal targets an open port completes the handshake (SF) and a closed
    one rejects it (REJ), but the host firewalls of phones and laptops drop the
    SYN (S0). Free addresses and most public targets send no reply (S0).
    """
    sf, s0, rej = (STATES.index(name) for name in ("SF", "S0", "REJ"))
    device = network.device_at(dst)
    internal = ((np.asarray(dst, dtype=np.uint32) >> 16) == (192 << 8 | 168))
    states = rng.choice(np.array([s0, rej, sf], dtype=np.uint8), size=device.size, p=[0.85, 0.13, 0.02])

    known = internal & (device >= 0)
    target = device[known]
    open_port = np.select(
        [port[known] == 23, port[known] == 22, port[known] == 445],
        [network.telnet_open[target], network.ssh_open[target], network.smb_open[target]],
        False,
    )
    human = np.isin(network.roles[target], [ROLES.index(role) for role in HUMAN_ROLES])
    states[known] = np.where(open_port, sf, np.where(human, s0, rej))
    states[internal & (device == -1)] = s0
    states[internal & (device == -2)] = rej
    return states


def _periodic(rng: np.random.Generator, begins: np.ndarray, *, period: float, jitter: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (owner, ts) of events every ``period`` seconds from each begin time until ``end``."""
    counts = np.maximum(np.ceil((end - begins) / period).astype(np.int64), 0)
    owner = np.repeat(np.arange(begins.size), counts)
    step = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    ts = begins[owner] + step * period + rng.normal(0, jitter * period, owner.size)
    keep = (ts >= begins[owner]) & (ts < end)
    return owner[keep], ts[keep]


def _uniform(rng: np.random.Generator, begins: np.ndarray, ends: np.ndarray, *, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (owner, ts) of Poisson events at ``rate`` per second between each begin and end."""
    counts = rng.poisson(rate * np.maximum(ends - begins, 0))
    owner = np.repeat(np.arange(begins.size), counts)
    return owner, rng.uniform(begins[owner], ends[owner])


def _flood(context: AttackContext, bots: np.ndarray, victim: int, *, begin: float, end: float, method: str) -> FlowBatch:
    """Flood ``victim`` from every bot between ``begin`` and ``end`` with Mirai's udp, syn or ack method."""
    rng, network = context.rng, context.network
    owner, ts = _uniform(rng, np.full(bots.size, begin), np.full(bots.size, end), rate=FLOOD_RATE)
    size = owner.size
    common = {"ts": ts, "src": network.addresses[bots[owner]], "dst": victim, "label": "DDoS"}
    if method == "udp":
        # 512-byte datagrams to random ports, which the victim never replies to.
        return connections(
            rng, **common, proto="udp", dst_port=rng.integers(1, 65536, size), bytes_out=512 * rng.integers(1, 12, size),
            duration=lognormal(rng, 0.5, size), state="S0", segment=512,
        )  # fmt: skip
    if method == "syn":
        return connections(rng, **common, dst_port=80, state="S0")
    return connections(rng, **common, dst_port=80, state="OTH")


def _pick(context: AttackContext, *pools: np.ndarray) -> np.ndarray:
    """Return the free devices of the first pool that has any, in random order."""
    for pool in pools:
        free = context.free(pool)
        if free.size:
            return context.rng.permutation(free)
    return np.empty(0, dtype=np.int64)


# --------------------------------------------------------------------------- mirai


def mirai(context: AttackContext) -> Outbreak:
    """Infect a camera, spread over telnet to vulnerable devices, then flood one victim from every bot."""
    rng, network = context.rng, context.network
    cameras = network.members("camera")
    first = _pick(context, cameras[network.telnet_open[cameras]], cameras, network.members(*sorted(IOT_ROLES)))
    if not first.size:
        logger.warning("mirai scenario skipped: every IoT device is already compromised")
        return Outbreak(FlowBatch.empty(), {})
    patient_zero = int(first[0])
    context.compromised.add(patient_zero)

    vulnerable = np.flatnonzero(network.telnet_open)
    pool = _pick(context, vulnerable)
    victims = pool[: min(pool.size, round(context.infected_fraction * vulnerable.size))]
    context.compromised.update(victims.tolist())
    cnc, loader, target = random_public(rng, 3).tolist()
    cnc_port = int(rng.choice(CNC_PORTS))

    infected_at, infector = _spread(context, victims.size)
    bots = np.concatenate([[patient_zero], victims]).astype(np.int64)
    scan_from = infected_at + _startup_delay(context, bots.size)

    ddos_begin = context.at(0.70)
    ddos_length = min(max(0.05 * context.span, 60.0), 900.0)
    methods = rng.choice(["udp", "syn", "ack"], size=2, replace=False).tolist()
    flows = FlowBatch.concat([
        _infections(context, bots, infected_at, infector, loader),
        _heartbeats(context, bots, scan_from, cnc, cnc_port),
        _telnet_scans(context, bots, scan_from),
        _flood(context, bots, target, begin=ddos_begin, end=ddos_begin + ddos_length / 2, method=methods[0]),
        _flood(context, bots, target, begin=ddos_begin + ddos_length / 2, end=ddos_begin + ddos_length, method=methods[1]),
    ])  # fmt: skip
    return Outbreak(flows, dict(zip(network.addresses[bots].tolist(), infected_at.tolist())))


def _startup_delay(context: AttackContext, count: int) -> np.ndarray:
    """Seconds from infection to the first scan and C&C contact: download, start, resolve."""
    typical = min(max(0.005 * context.span, 5.0), 120.0)
    return typical * context.rng.uniform(0.5, 1.5, count)


def _spread(context: AttackContext, victims: int) -> tuple[np.ndarray, np.ndarray]:
    """Return infection times of patient zero and each victim, and each victim's infector.

    Infector -1 is the outside attacker. Gaps shrink as the number of bots grows,
    as in an epidemic, and the last victim falls before 65 % of the span.
    """
    rng = context.rng
    patient_zero_at = context.at(0.25) + rng.uniform(-0.01, 0.01) * context.span
    if victims == 0:
        return np.array([patient_zero_at]), np.array([-1])

    first_scan = patient_zero_at + min(max(0.005 * context.span, 5.0), 120.0) * 1.5
    progress = np.cumsum(rng.exponential(1.0, victims) / np.arange(1, victims + 1))
    last = context.at(0.65)
    times = first_scan + (last - first_scan) * rng.uniform(0.85, 1.0) * progress / progress[-1]
    infected_at = np.concatenate([[patient_zero_at], times])
    # Any bot infected earlier can be the infector; patient zero always scans in time.
    infector = np.concatenate([[-1], [int(rng.integers(0, k + 1)) for k in range(victims)]])
    return infected_at, infector


def _infections(context: AttackContext, bots: np.ndarray, infected_at: np.ndarray, infector: np.ndarray, loader: int) -> FlowBatch:
    """Telnet login by the infector (the loader for patient zero), then the bot downloads the binary."""
    rng, network = context.rng, context.network
    size = bots.size
    login_from = np.where(infector < 0, loader, network.addresses[bots[np.maximum(infector, 0)]])
    login = connections(
        rng, ts=infected_at, src=login_from, dst=network.addresses[bots], dst_port=23, bytes_out=lognormal(rng, 400, size),
        bytes_in=lognormal(rng, 900, size), duration=lognormal(rng, 8.0, size), label="C&C-FileDownload",
    )  # fmt: skip
    download = connections(
        rng, ts=infected_at + rng.uniform(9.0, 12.0, size), src=network.addresses[bots], dst=loader, dst_port=80,
        service="http", bytes_out=lognormal(rng, 200, size, sigma=0.2), bytes_in=lognormal(rng, 8e4, size, sigma=0.2),
        duration=lognormal(rng, 2.0, size), label="C&C-FileDownload",
    )  # fmt: skip
    return FlowBatch.concat([login, download])


def _heartbeats(context: AttackContext, bots: np.ndarray, begins: np.ndarray, cnc: int, port: int) -> FlowBatch:
    rng, network = context.rng, context.network
    owner, ts = _periodic(rng, begins, period=HEARTBEAT_PERIOD, jitter=0.1, end=context.end)
    size = owner.size
    return connections(
        rng, ts=ts, src=network.addresses[bots[owner]], dst=cnc, dst_port=port, service="irc" if port == 6667 else "-",
        bytes_out=lognormal(rng, 60, size), bytes_in=lognormal(rng, 40, size), duration=lognormal(rng, 0.3, size),
        failure=0.1, label="C&C",
    )  # fmt: skip


def _telnet_scans(context: AttackContext, bots: np.ndarray, begins: np.ndarray) -> FlowBatch:
    """Probe random public and local addresses on telnet ports, which vulnerable local devices accept."""
    rng, network = context.rng, context.network
    owner, ts = _uniform(rng, begins, np.full(bots.size, context.end), rate=SCAN_RATE)
    size = owner.size

    dst = random_public(rng, size)
    local = rng.random(size) < SCAN_INTERNAL_SHARE
    subnets = rng.integers(0, network.gateways.size, int(local.sum()))
    dst[local] = (network.gateways[subnets] & np.uint32(0xFFFFFF00)) + rng.integers(1, 255, subnets.size).astype(np.uint32)
    src = network.addresses[bots[owner]]
    keep = dst != src
    ts, src, dst, size = ts[keep], src[keep], dst[keep], int(keep.sum())

    port = np.where(rng.random(size) < 0.9, TELNET_PORTS[0], TELNET_PORTS[1])
    return connections(
        rng, ts=ts, src=src, dst=dst, dst_port=port, state=probe_states(rng, network, dst, port),
        bytes_out=lognormal(rng, 60, size), bytes_in=lognormal(rng, 200, size), duration=lognormal(rng, 3.0, size),
        label="PartOfAHorizontalPortScan",
    )  # fmt: skip


# --------------------------------------------------------------------------- beacon


def beacon(context: AttackContext) -> Outbreak:
    """Make one IoT device call a C&C server every N seconds with 2 % jitter until the span ends."""
    rng, network = context.rng, context.network
    device = _pick(context, network.members("plug", "thermostat"), network.members(*sorted(IOT_ROLES)), np.arange(len(network)))
    if not device.size:
        logger.warning("beacon scenario skipped: every device is already compromised")
        return Outbreak(FlowBatch.empty(), {})
    device = device[:1]
    context.compromised.add(int(device[0]))

    period = float(rng.choice(BEACON_PERIODS))
    port = int(rng.choice(BEACON_PORTS))
    cnc = int(random_public(rng, 1)[0])
    begin = context.at(0.15) + rng.uniform(0, 0.05) * context.span
    owner, ts = _periodic(rng, np.array([begin]), period=period, jitter=0.02, end=context.end)
    size = owner.size
    flows = connections(
        rng, ts=ts, src=network.addresses[device[owner]], dst=cnc, dst_port=port, service="ssl" if port != 4444 else "-",
        bytes_out=lognormal(rng, 300, size, sigma=0.2), bytes_in=lognormal(rng, 200, size, sigma=0.2),
        duration=lognormal(rng, 0.4, size), failure=0.03, label="C&C",
    )  # fmt: skip
    first = float(ts.min()) if size else begin
    return Outbreak(flows, {int(network.addresses[device[0]]): first})


# --------------------------------------------------------------------------- ddos


def ddos(context: AttackContext) -> Outbreak:
    """Make a few infected IoT devices take a command from a C&C server and flood one public victim."""
    rng, network = context.rng, context.network
    vulnerable = np.flatnonzero(network.telnet_open)
    pool = _pick(context, vulnerable, network.members(*sorted(IOT_ROLES)), np.arange(len(network)))
    bots = pool[: max(1, round(context.infected_fraction * vulnerable.size))]
    if not bots.size:
        logger.warning("ddos scenario skipped: every device is already compromised")
        return Outbreak(FlowBatch.empty(), {})
    context.compromised.update(bots.tolist())

    cnc, victim = random_public(rng, 2).tolist()
    begin = context.at(0.50)
    length = min(max(0.04 * context.span, 60.0), 600.0)
    commanded = begin - rng.uniform(1.0, 5.0, bots.size)
    command = connections(
        rng, ts=commanded, src=network.addresses[bots], dst=cnc, dst_port=int(rng.choice(CNC_PORTS)),
        bytes_out=lognormal(rng, 60, bots.size), bytes_in=lognormal(rng, 120, bots.size),
        duration=lognormal(rng, 0.3, bots.size), label="C&C",
    )  # fmt: skip
    method = str(rng.choice(["udp", "syn", "ack"]))
    flood = _flood(context, bots, victim, begin=begin, end=begin + length, method=method)
    return Outbreak(FlowBatch.concat([command, flood]), dict(zip(network.addresses[bots].tolist(), commanded.tolist())))


# --------------------------------------------------------------------------- lateral


def lateral(context: AttackContext) -> Outbreak:
    """Make a compromised laptop sweep its /24 and the NAS boxes, then log in to up to three devices."""
    rng, network = context.rng, context.network
    laptop = _pick(context, network.members("laptop"), network.members("phone"), np.arange(len(network)))
    if not laptop.size:
        logger.warning("lateral scenario skipped: every device is already compromised")
        return Outbreak(FlowBatch.empty(), {})
    laptop = int(laptop[0])
    context.compromised.add(laptop)
    source = network.addresses[laptop]

    subnet_base = network.gateways[network.subnet[laptop]] & np.uint32(0xFFFFFF00)
    hosts = subnet_base + np.arange(1, 255, dtype=np.uint32)
    nas = network.addresses[network.members("nas")]
    targets = np.unique(np.concatenate([hosts, nas]))
    targets = targets[targets != source]
    dst = np.repeat(targets, len(LATERAL_PORTS))
    port = np.tile(np.array(LATERAL_PORTS), targets.size)
    order = rng.permutation(dst.size)
    dst, port = dst[order], port[order]

    begin = context.at(0.40)
    ts = begin + np.cumsum(rng.exponential(1.0 / SWEEP_RATE, dst.size))
    states = probe_states(rng, network, dst, port)
    size = dst.size
    sweep = connections(
        rng, ts=ts, src=source, dst=dst, dst_port=port, state=states, bytes_out=lognormal(rng, 40, size),
        bytes_in=lognormal(rng, 120, size), duration=lognormal(rng, 0.5, size), label="PartOfAHorizontalPortScan",
    )  # fmt: skip

    sessions = _lateral_sessions(context, source, dst[states == STATES.index("SF")], port[states == STATES.index("SF")], begin=float(ts.max()) + 30.0)
    flows = FlowBatch.concat([sweep, sessions])
    keep = flows.ts < context.end
    return Outbreak(flows.take(np.flatnonzero(keep)), {int(source): begin})


def _lateral_sessions(context: AttackContext, source: int, dst: np.ndarray, port: np.ndarray, *, begin: float) -> FlowBatch:
    """Log in to up to three devices that accepted a sweep probe, file shares first."""
    rng = context.rng
    order = np.lexsort((rng.random(dst.size), port != 445))
    chosen, seen = [], set()
    for index in order.tolist():
        if int(dst[index]) not in seen:
            seen.add(int(dst[index]))
            chosen.append(index)
        if len(chosen) == 3:
            break

    batches = []
    when = begin
    for index in chosen:
        target, service_port = int(dst[index]), int(port[index])
        if service_port == 445:
            # Copy files off the share: few connections, megabytes back.
            attempts, service, sizes = 4, "smb", (3e4, 2e7, 60.0)
        else:
            # Password guessing: many short logins, then one interactive session.
            attempts, service, sizes = 20, "ssh" if service_port == 22 else "-", (1500, 2500, 2.0)
        ts = when + np.cumsum(rng.uniform(2.0, 4.0, attempts))
        batches.append(connections(
            rng, ts=ts, src=source, dst=target, dst_port=service_port, service=service,
            bytes_out=lognormal(rng, sizes[0], attempts), bytes_in=lognormal(rng, sizes[1], attempts),
            duration=lognormal(rng, sizes[2], attempts), label="Attack",
        ))  # fmt: skip
        when = float(ts[-1]) + 60.0
        if service_port != 445:
            batches.append(connections(
                rng, ts=np.array([float(ts[-1]) + 5.0]), src=source, dst=target, dst_port=service_port, service=service,
                bytes_out=4e4, bytes_in=3e5, duration=lognormal(rng, 120.0, 1), label="Attack",
            ))  # fmt: skip
            when += 120.0
    return FlowBatch.concat(batches)


SCENARIOS: dict[str, Callable[[AttackContext], Outbreak]] = {
    "mirai": mirai,
    "beacon": beacon,
    "ddos": ddos,
    "lateral": lateral,
}
