"""Seeded simulator of a home or office IoT network, written as a labelled Zeek conn.log.

The output has the IoT-23 ``conn.log.labeled`` layout: Zeek's TSV conn.log
whose last field is ``tunnel_parents   label   detailed-label``, three names
joined by three spaces. Devices live in 192.168.0.0/16, one /24 per 253
devices, with the gateway and DNS resolver at ``.1`` of each /24. Every role
(camera, plug, ...) sends benign traffic with its own rhythm, and the
scenarios in :mod:`ingest.scenarios` add labelled attacks on top.

The same configuration writes the same bytes. Each role and each attack draws
from its own random stream, so adding an attack leaves the benign traffic
unchanged.
"""

from __future__ import annotations

import enum
import io
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

logger = logging.getLogger(__name__)

ATTACKS = ("mirai", "beacon", "ddos", "lateral")

ROLES = ("camera", "plug", "thermostat", "hub", "phone", "laptop", "nas")
GATEWAY_ROLE = "gateway"
IOT_ROLES = frozenset({"camera", "plug", "thermostat", "hub"})
HUMAN_ROLES = frozenset({"phone", "laptop"})
# Share of each role among the devices that are not NAS boxes.
ROLE_SHARES = {"camera": 0.18, "plug": 0.24, "thermostat": 0.08, "hub": 0.06, "phone": 0.24, "laptop": 0.20}
DEVICES_PER_NAS = 250
# Share of IoT devices that expose telnet with default credentials.
TELNET_OPEN_SHARE = 0.6

HOSTS_PER_SUBNET = 253  # .2 to .254 of each /24; .1 is the gateway
MAX_SUBNETS = 255  # 192.168.1.0/24 to 192.168.255.0/24
MIN_DEVICES = 5  # room for a NAS, a camera and a laptop besides other roles
SSDP_GROUP = (239 << 24) | (255 << 16) | (255 << 8) | 250

PROTOS = ("tcp", "udp", "icmp")
SERVICES = ("-", "dns", "ntp", "ssl", "http", "ssh", "smb", "irc")
STATES = ("SF", "S0", "REJ", "RSTO", "RSTR", "OTH")
HISTORIES = ("ShADadFf", "ShADadfF", "S", "Sr", "ShADadR", "ShADadr", "Dd", "D", "A")
DETAILED_LABELS = ("-", "C&C", "C&C-FileDownload", "DDoS", "PartOfAHorizontalPortScan", "Attack")

FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
)  # fmt: skip
TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
    "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
)  # fmt: skip
# IoT-23 appended its two label columns to Zeek's last field with three spaces, not tabs.
LABEL_JOIN = "   "

# Relative activity of people by hour of the day, with UTC taken as local time.
# It is normalised to a mean of 1, so a rate's per-hour value is its daily mean.
_HUMAN_ACTIVITY = np.array(
    [0.15, 0.10, 0.08, 0.08, 0.08, 0.12, 0.35, 0.80, 1.00, 0.90, 0.80, 0.85,
     1.00, 0.95, 0.85, 0.85, 0.95, 1.20, 1.50, 1.70, 1.80, 1.60, 1.00, 0.45]
)  # fmt: skip
HUMAN_ACTIVITY = _HUMAN_ACTIVITY / _HUMAN_ACTIVITY.mean()

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_CHUNK_ROWS = 100_000


@dataclass
class SimulationConfig:
    """What to simulate.

    ``start`` is the epoch time (UTC seconds) of the first possible flow, and
    the span is ``hours`` long. ``infected_fraction`` is the share of
    telnet-exposed IoT devices that a botnet scenario can infect.
    ``flows_per_device_hour`` rescales every role's benign rates so that the
    benign flows average that many per device and hour over the span. None
    keeps each role's own rates, about 100 flows per device and hour over the
    role mix as a daily mean.
    """

    devices: int = 60
    hours: float = 6.0
    seed: int = 7
    attacks: tuple[str, ...] = ("mirai",)
    start: float = 1_700_000_000.0
    infected_fraction: float = 0.1
    flows_per_device_hour: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.attacks, str):
            self.attacks = (self.attacks,)
        self.attacks = tuple(self.attacks)
        unknown = [name for name in self.attacks if name not in ATTACKS]
        if unknown:
            raise ValueError(f"unknown attack scenario(s) {unknown}; choose from {list(ATTACKS)}")

        max_devices = HOSTS_PER_SUBNET * MAX_SUBNETS
        if not MIN_DEVICES <= self.devices <= max_devices:
            raise ValueError(f"devices={self.devices} is out of range; 192.168.0.0/16 fits {MIN_DEVICES} to {max_devices} devices")
        if not (math.isfinite(self.hours) and self.hours > 0):
            raise ValueError(f"hours={self.hours} is invalid; give a positive number of hours, e.g. 6")
        if not math.isfinite(self.start) or self.start < 0:
            raise ValueError(f"start={self.start} is invalid; give epoch seconds, e.g. 1700000000")
        if not 0.0 <= self.infected_fraction <= 1.0:
            raise ValueError(f"infected_fraction={self.infected_fraction} is invalid; give a share between 0 and 1")
        rate = self.flows_per_device_hour
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"flows_per_device_hour={rate} is invalid; give a positive rate or None for the role defaults")

    @property
    def end(self) -> float:
        """Epoch time (UTC seconds) at which the span ends; every flow starts before it."""
        return self.start + self.hours * 3600.0


@dataclass
class SimulationResult:
    """Counts and ground truth of one simulated log.

    ``devices`` counts the simulated end devices. ``roles`` also names the
    gateways (role ``gateway``), one per /24. ``infected`` maps each
    compromised device to the epoch time it was compromised, in the order the
    scenarios compromised them, so Mirai's patient zero comes before its victims.
    """

    flows: int
    devices: int
    malicious_flows: int
    infected: dict[str, float]
    roles: dict[str, str]
    labels: dict[str, int] = field(default_factory=dict)  # detailed label -> flows; "-" is benign


# --------------------------------------------------------------------------- flows


@dataclass
class FlowBatch:
    """Columns of simulated connections; addresses are IPv4 numbers, text fields are codes.

    ``proto``, ``service``, ``state``, ``history`` and ``label`` index
    PROTOS, SERVICES, STATES, HISTORIES and DETAILED_LABELS. A duration of
    NaN and byte counts of -1 are written as Zeek's unset ``-``.
    """

    ts: np.ndarray
    src: np.ndarray
    src_port: np.ndarray
    dst: np.ndarray
    dst_port: np.ndarray
    proto: np.ndarray
    service: np.ndarray
    duration: np.ndarray
    bytes_out: np.ndarray
    bytes_in: np.ndarray
    state: np.ndarray
    history: np.ndarray
    pkts_out: np.ndarray
    pkts_in: np.ndarray
    ip_bytes_out: np.ndarray
    ip_bytes_in: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def empty(cls) -> FlowBatch:
        return cls.concat([])

    @classmethod
    def concat(cls, batches: Sequence[FlowBatch]) -> FlowBatch:
        names = cls.__dataclass_fields__
        if not batches:
            return cls(**{name: np.empty(0, dtype=_COLUMN_DTYPES[name]) for name in names})
        return cls(**{name: np.concatenate([getattr(batch, name) for batch in batches]) for name in names})

    def take(self, index: np.ndarray) -> FlowBatch:
        return FlowBatch(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})


_COLUMN_DTYPES = {
    "ts": np.float64, "src": np.uint32, "src_port": np.int32, "dst": np.uint32, "dst_port": np.int32,
    "proto": np.uint8, "service": np.uint8, "duration": np.float64, "bytes_out": np.int64,
    "bytes_in": np.int64, "state": np.uint8, "history": np.uint8, "pkts_out": np.int64, "pkts_in": np.int64,
    "ip_bytes_out": np.int64, "ip_bytes_in": np.int64, "label": np.uint8,
}  # fmt: skip


def _column(value: object, size: int, dtype: type) -> np.ndarray:
    return np.array(np.broadcast_to(np.asarray(value, dtype=dtype), (size,)))


def _codes(value: object, table: tuple[str, ...], size: int) -> np.ndarray:
    if isinstance(value, str):
        return np.full(size, table.index(value), dtype=np.uint8)
    return _column(value, size, np.uint8)


def lognormal(rng: np.random.Generator, median: float, size: int, *, sigma: float = 0.6) -> np.ndarray:
    """Draw ``size`` positive values around ``median`` with a log-normal spread."""
    return median * np.exp(sigma * rng.standard_normal(size))


def connections(
    rng: np.random.Generator,
    *,
    ts: np.ndarray,
    src: object,
    dst: object,
    dst_port: object,
    proto: str = "tcp",
    service: str = "-",
    bytes_out: object = 0,
    bytes_in: object = 0,
    duration: object = 0.0,
    failure: float = 0.0,
    state: object = None,
    src_port: object = None,
    segment: int = 1448,
    label: str = "-",
) -> FlowBatch:
    """Build one flow per entry of ``ts`` with Zeek's fields consistent with its conn_state.

    Scalars broadcast. Without ``state`` a flow completes (SF) unless it is
    among the ``failure`` share, which fails the way such connections do
    (TCP: S0, REJ or a reset; UDP: no reply). ``segment`` is the payload
    bytes per packet, so packet counts follow the byte counts.
    """
    size = int(np.size(ts))
    is_tcp = proto == "tcp"
    states = _connection_states(rng, size, is_tcp=is_tcp, failure=failure, state=state)
    out = np.maximum(_column(bytes_out, size, np.float64), 0).round().astype(np.int64)
    back = np.maximum(_column(bytes_in, size, np.float64), 0).round().astype(np.int64)
    seconds = _column(duration, size, np.float64)
    if src_port is None:
        src_port = rng.integers(32768, 61000, size)

    if is_tcp:
        shaped = _shape_tcp(rng, states, out, back, seconds, segment)
    else:
        shaped = _shape_udp(states, out, back, seconds, segment)
    pkts_out, pkts_in, ip_out, ip_in, out, back, seconds, history = shaped

    services = _codes(service, SERVICES, size)
    if is_tcp:
        established = (states == STATES.index("SF")) | (states == STATES.index("RSTO")) | (states == STATES.index("RSTR"))
        services[~established] = SERVICES.index("-")

    return FlowBatch(
        ts=np.round(np.asarray(ts, dtype=np.float64), 6),
        src=_column(src, size, np.uint32),
        src_port=_column(src_port, size, np.int32),
        dst=_column(dst, size, np.uint32),
        dst_port=_column(dst_port, size, np.int32),
        proto=_codes(proto, PROTOS, size),
        service=services,
        duration=seconds,
        bytes_out=out,
        bytes_in=back,
        state=states,
        history=history,
        pkts_out=pkts_out,
        pkts_in=pkts_in,
        ip_bytes_out=ip_out,
        ip_bytes_in=ip_in,
        label=_codes(label, DETAILED_LABELS, size),
    )


def _connection_states(rng: np.random.Generator, size: int, *, is_tcp: bool, failure: float, state: object) -> np.ndarray:
    if state is not None:
        return _codes(state, STATES, size)

    states = np.zeros(size, dtype=np.uint8)
    failed = rng.random(size) < failure
    if is_tcp:
        # Failed TCP connections: mostly unanswered SYNs, then rejections and resets.
        kinds = np.array([STATES.index(name) for name in ("S0", "REJ", "RSTO", "RSTR")], dtype=np.uint8)
        states[failed] = rng.choice(kinds, size=int(failed.sum()), p=[0.55, 0.25, 0.1, 0.1])
    else:
        states[failed] = STATES.index("S0")
    return states


def _packets(payload: np.ndarray, segment: int) -> np.ndarray:
    return -(-payload // segment)


def _shape_tcp(
    rng: np.random.Generator, states: np.ndarray, out: np.ndarray, back: np.ndarray, seconds: np.ndarray, segment: int
) -> tuple[np.ndarray, ...]:
    size = states.size
    sf, s0, rej = (states == STATES.index(name) for name in ("SF", "S0", "REJ"))
    reset = (states == STATES.index("RSTO")) | (states == STATES.index("RSTR"))
    oth = states == STATES.index("OTH")

    # A reset cuts the transfer short. Unanswered and rejected SYNs carry no payload.
    out = np.where(reset, (out * rng.random(size)).astype(np.int64), out)
    back = np.where(reset, (back * rng.random(size) * 0.5).astype(np.int64), back)
    out = np.where(s0 | rej | oth, 0, out)
    back = np.where(s0 | rej | oth, 0, back)

    # Handshake and FIN packets, data segments, and one ACK per two segments the other way.
    data_out, data_in = _packets(out, segment), _packets(back, segment)
    pkts_out = 2 + data_out + data_in // 2
    pkts_in = 2 + data_in + data_out // 2
    retries = rng.choice(np.array([1, 2, 3]), size=size, p=[0.5, 0.2, 0.3])
    pkts_out = np.select([s0, rej, oth], [retries, 1, 1], pkts_out)
    pkts_in = np.select([s0 | oth, rej], [0, 1], pkts_in)

    # IP and TCP headers with timestamps take 52 bytes, a bare SYN 60 and a RST 40.
    ip_out = np.where(s0 | rej, 60 * pkts_out, out + 52 * pkts_out)
    ip_in = np.where(rej, 40, back + 52 * pkts_in)

    # SYN retries leave after 1 s and 3 s, so a retried S0 lasts about that long.
    seconds = np.select([s0, rej], [np.where(retries == 2, 1.0, 3.0) + 0.1 * rng.random(size), 0.0002 + 0.05 * rng.random(size)], seconds)
    single = oth | (s0 & (pkts_out == 1))
    seconds = np.where(single, np.nan, seconds)
    out = np.where(single, -1, out)
    back = np.where(single, -1, back)

    history = np.select(
        [sf, s0, rej, states == STATES.index("RSTO"), states == STATES.index("RSTR"), oth],
        [
            np.where(rng.random(size) < 0.8, HISTORIES.index("ShADadFf"), HISTORIES.index("ShADadfF")),
            HISTORIES.index("S"),
            HISTORIES.index("Sr"),
            HISTORIES.index("ShADadR"),
            HISTORIES.index("ShADadr"),
            HISTORIES.index("A"),
        ],
    ).astype(np.uint8)
    return pkts_out, pkts_in, ip_out, ip_in, out, back, seconds, history


def _shape_udp(
    states: np.ndarray, out: np.ndarray, back: np.ndarray, seconds: np.ndarray, segment: int
) -> tuple[np.ndarray, ...]:
    no_reply = states != STATES.index("SF")
    back = np.where(no_reply, 0, back)
    pkts_out = np.maximum(_packets(out, segment), 1)
    pkts_in = np.where(no_reply, 0, np.maximum(_packets(back, segment), 1))
    ip_out = out + 28 * pkts_out
    ip_in = back + 28 * pkts_in

    # Zeek leaves duration and byte counts unset for a connection of one packet.
    single = no_reply & (pkts_out == 1)
    seconds = np.where(single, np.nan, seconds)
    out = np.where(single, -1, out)
    back = np.where(single, -1, back)
    history = np.where(no_reply, HISTORIES.index("D"), HISTORIES.index("Dd")).astype(np.uint8)
    return pkts_out, pkts_in, ip_out, ip_in, out, back, seconds, history


# --------------------------------------------------------------------------- addresses


def ip_number(text: str) -> int:
    """Return the IPv4 address ``a.b.c.d`` as an unsigned 32-bit number."""
    a, b, c, d = (int(part) for part in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def ip_text(numbers: np.ndarray) -> list[str]:
    """Return dotted-quad text for each IPv4 number, formatting each distinct address once."""
    unique, inverse = np.unique(np.asarray(numbers, dtype=np.uint32), return_inverse=True)
    octets = [(unique >> shift) & 0xFF for shift in (24, 16, 8, 0)]
    texts = np.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*(o.tolist() for o in octets))], dtype=object)
    return texts[inverse].tolist()


# Networks that never appear as public hosts: RFC 6890 special-purpose blocks,
# private space, multicast and the reserved 240/4.
_NON_PUBLIC = (
    ("0.0.0.0", 8), ("10.0.0.0", 8), ("100.64.0.0", 10), ("127.0.0.0", 8), ("169.254.0.0", 16),
    ("172.16.0.0", 12), ("192.0.0.0", 24), ("192.0.2.0", 24), ("192.88.99.0", 24), ("192.168.0.0", 16),
    ("198.18.0.0", 15), ("198.51.100.0", 24), ("203.0.113.0", 24), ("224.0.0.0", 4), ("240.0.0.0", 4),
)  # fmt: skip


def is_public(numbers: np.ndarray) -> np.ndarray:
    """Return a mask of the IPv4 numbers outside every special-purpose and private block."""
    numbers = np.asarray(numbers, dtype=np.uint32)
    public = np.ones(numbers.shape, dtype=bool)
    for network, prefix in _NON_PUBLIC:
        mask = np.uint32((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
        public &= (numbers & mask) != np.uint32(ip_number(network))
    return public


def random_public(rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` public IPv4 numbers uniformly, skipping private and reserved blocks."""
    found = np.empty(0, dtype=np.uint32)
    while found.size < size:
        # About 86 % of the space is public, so one redraw with margin almost always suffices.
        draw = rng.integers(0, 2**32, size=int((size - found.size) * 1.25) + 16, dtype=np.uint64).astype(np.uint32)
        found = np.concatenate([found, draw[is_public(draw)]])
    return found[:size]


# --------------------------------------------------------------------------- network


class Peers(enum.Enum):
    """Peer group that a kind of benign traffic goes to."""

    GATEWAY = "gateway"  # the device's /24 gateway, also its DNS resolver
    NTP = "ntp"  # public NTP pool servers
    VENDOR = "vendor"  # the device's one or two vendor cloud endpoints
    WEB = "web"  # popular public web hosts, chosen by a Zipf law
    LOCAL_IOT = "local_iot"  # IoT devices in the same /24
    NAS = "nas"  # the NAS serving the device's /24
    SSDP = "ssdp"  # the SSDP multicast group 239.255.255.250


class Timing(enum.Enum):
    """Timing pattern of a kind of benign traffic."""

    PERIODIC = "periodic"  # every 3600/per_hour seconds with jitter, random phase per device
    POISSON = "poisson"  # independent events at a constant rate
    DIURNAL = "diurnal"  # independent events whose rate follows HUMAN_ACTIVITY
    BURST = "burst"  # DIURNAL sessions of several flows a few seconds apart


@dataclass(frozen=True)
class Traffic:
    """One kind of benign traffic of a role: timing, peer, port and size (medians in bytes and seconds)."""

    name: str
    per_hour: float  # mean flows per device and hour
    timing: Timing
    peers: Peers
    proto: str
    port: int
    service: str
    bytes_out: float
    bytes_in: float
    duration: float
    failure: float = 0.01
    jitter: float = 0.1  # PERIODIC: standard deviation as a share of the period
    state: str | None = None  # fixed conn_state, for traffic that never gets a reply


def _dns(per_hour: float, timing: Timing = Timing.POISSON) -> Traffic:
    return Traffic("dns", per_hour, timing, Peers.GATEWAY, "udp", 53, "dns", 40, 120, 0.02)


def _ntp(per_hour: float) -> Traffic:
    return Traffic("ntp", per_hour, Timing.PERIODIC, Peers.NTP, "udp", 123, "ntp", 48, 48, 0.05, failure=0.03)


ROLE_TRAFFIC: dict[str, tuple[Traffic, ...]] = {
    "camera": (
        Traffic("video upload", 60, Timing.PERIODIC, Peers.VENDOR, "tcp", 443, "ssl", 1.5e6, 6e3, 4.0, failure=0.005, jitter=0.05),
        Traffic("control", 12, Timing.PERIODIC, Peers.VENDOR, "tcp", 443, "ssl", 600, 800, 0.4),
        _dns(6),
        _ntp(1),
    ),
    "plug": (
        Traffic("mqtt telemetry", 60, Timing.PERIODIC, Peers.VENDOR, "tcp", 8883, "ssl", 320, 140, 0.3),
        Traffic("firmware check", 1, Timing.POISSON, Peers.VENDOR, "tcp", 443, "ssl", 900, 4500, 0.8),
        _dns(4),
        _ntp(1),
    ),
    "thermostat": (
        Traffic("report", 12, Timing.PERIODIC, Peers.VENDOR, "tcp", 443, "ssl", 1800, 1200, 0.6),
        Traffic("weather", 2, Timing.PERIODIC, Peers.WEB, "tcp", 443, "ssl", 700, 6000, 0.5),
        _dns(4),
        _ntp(1),
    ),
    "hub": (
        Traffic("cloud", 30, Timing.PERIODIC, Peers.VENDOR, "tcp", 443, "ssl", 500, 400, 0.3),
        Traffic("local poll", 90, Timing.POISSON, Peers.LOCAL_IOT, "tcp", 80, "http", 250, 600, 0.05, failure=0.02),
        Traffic("ssdp", 6, Timing.PERIODIC, Peers.SSDP, "udp", 1900, "-", 300, 0, 0.0, state="S0"),
        _dns(6),
        _ntp(1),
    ),
    "phone": (
        Traffic("web", 70, Timing.BURST, Peers.WEB, "tcp", 443, "ssl", 1500, 4e4, 1.5, failure=0.02),
        Traffic("quic", 15, Timing.BURST, Peers.WEB, "udp", 443, "-", 3000, 1.5e5, 5.0),
        Traffic("app", 4, Timing.DIURNAL, Peers.VENDOR, "tcp", 443, "ssl", 800, 2000, 0.5),
        _dns(30, Timing.DIURNAL),
        _ntp(0.5),
    ),
    "laptop": (
        Traffic("web", 100, Timing.BURST, Peers.WEB, "tcp", 443, "ssl", 2500, 8e4, 2.0, failure=0.02),
        Traffic("http", 8, Timing.BURST, Peers.WEB, "tcp", 80, "http", 600, 2e4, 0.8, failure=0.03),
        Traffic("file share", 4, Timing.DIURNAL, Peers.NAS, "tcp", 445, "smb", 6e4, 2e6, 8.0),
        _dns(45, Timing.DIURNAL),
        _ntp(1),
    ),
    "nas": (
        Traffic("cloud backup", 4, Timing.PERIODIC, Peers.VENDOR, "tcp", 443, "ssl", 8e6, 2e4, 30.0),
        Traffic("update check", 1, Timing.POISSON, Peers.VENDOR, "tcp", 443, "ssl", 900, 3000, 0.6),
        _dns(6),
        _ntp(1),
    ),
}
VENDORS_PER_ROLE = {"camera": 3, "plug": 2, "thermostat": 2, "hub": 2, "nas": 1}
ENDPOINTS_PER_VENDOR = 4
NTP_SERVERS = 8
WEB_HOSTS = 600


@dataclass
class Network:
    """The simulated devices and the public hosts they talk to.

    Per-device arrays share one order. ``cloud`` lists each device's vendor
    endpoints, of which the first ``cloud_count`` columns are used. ``host_table``
    maps (subnet, last octet) to a device index, -1 for free addresses and
    -2 for the gateway.
    """

    addresses: np.ndarray  # uint32 per device
    roles: np.ndarray  # index into ROLES per device
    subnet: np.ndarray  # /24 number per device: 0 is 192.168.1.0/24
    gateways: np.ndarray  # uint32 per /24
    host_table: np.ndarray  # int32, shape (subnets, 256)
    telnet_open: np.ndarray  # bool per device: telnet with default credentials
    ssh_open: np.ndarray  # bool per device
    smb_open: np.ndarray  # bool per device
    cloud: np.ndarray  # uint32, shape (devices, 2)
    cloud_count: np.ndarray  # 1 or 2 per device
    ntp_servers: np.ndarray
    web_hosts: np.ndarray
    web_weights: np.ndarray
    nas_of: np.ndarray  # index of the NAS serving each device

    def __len__(self) -> int:
        return int(self.addresses.size)

    def members(self, *roles: str) -> np.ndarray:
        """Return the indices of the devices that have one of ``roles``."""
        codes = [ROLES.index(role) for role in roles]
        return np.flatnonzero(np.isin(self.roles, codes))

    def device_at(self, addresses: np.ndarray) -> np.ndarray:
        """Return the device index at each internal address: -1 when free, -2 for a gateway."""
        addresses = np.asarray(addresses, dtype=np.uint32)
        third = ((addresses >> 8) & 0xFF).astype(np.int64) - 1
        inside = ((addresses >> 16) == (192 << 8 | 168)) & (third >= 0) & (third < self.gateways.size)
        found = np.full(addresses.shape, -1, dtype=np.int64)
        found[inside] = self.host_table[third[inside], (addresses[inside] & 0xFF).astype(np.int64)]
        return found

    def role_names(self) -> dict[str, str]:
        """Map every internal address, gateways included, to its role."""
        names = dict(zip(ip_text(self.addresses), (ROLES[code] for code in self.roles.tolist())))
        names.update((address, GATEWAY_ROLE) for address in ip_text(self.gateways))
        return names


def build_network(devices: int, *, seed: int) -> Network:
    """Lay out ``devices`` devices in 192.168.0.0/16 with roles, open ports and vendor clouds."""
    rng = np.random.default_rng([seed, 0])
    roles = _assign_roles(rng, devices)

    subnets = -(-devices // HOSTS_PER_SUBNET)
    subnet = np.repeat(np.arange(subnets), HOSTS_PER_SUBNET)[:devices]
    # DHCP scatters leases over the /24, so hosts get random distinct last octets.
    host = np.concatenate([2 + rng.permutation(HOSTS_PER_SUBNET)[: int((subnet == s).sum())] for s in range(subnets)])
    base = np.uint32(ip_number("192.168.0.0"))
    addresses = base + ((subnet + 1) << 8).astype(np.uint32) + host.astype(np.uint32)
    gateways = base + ((np.arange(subnets) + 1) << 8).astype(np.uint32) + np.uint32(1)
    host_table = np.full((subnets, 256), -1, dtype=np.int32)
    host_table[subnet, host] = np.arange(devices)
    host_table[:, 1] = -2

    is_iot = np.isin(roles, [ROLES.index(role) for role in IOT_ROLES])
    is_role = {role: roles == ROLES.index(role) for role in ROLES}
    telnet_open = is_iot & (rng.random(devices) < TELNET_OPEN_SHARE)
    ssh_open = is_role["nas"] | is_role["hub"] | (is_role["laptop"] & (rng.random(devices) < 0.3))
    smb_open = is_role["nas"] | (is_role["laptop"] & (rng.random(devices) < 0.4))

    cloud, cloud_count = _vendor_clouds(rng, roles)
    web_rank = np.arange(1, WEB_HOSTS + 1, dtype=np.float64)
    web_weights = web_rank**-1.1 / (web_rank**-1.1).sum()

    nas = np.flatnonzero(is_role["nas"])
    nas_by_subnet = {int(subnet[index]): int(index) for index in nas[::-1]}
    nas_of = np.array([nas_by_subnet.get(int(s), int(nas[0])) for s in range(subnets)])[subnet]

    return Network(
        addresses=addresses,
        roles=roles,
        subnet=subnet,
        gateways=gateways,
        host_table=host_table,
        telnet_open=telnet_open,
        ssh_open=ssh_open,
        smb_open=smb_open,
        cloud=cloud,
        cloud_count=cloud_count,
        ntp_servers=random_public(rng, NTP_SERVERS),
        web_hosts=random_public(rng, WEB_HOSTS),
        web_weights=web_weights,
        nas_of=nas_of,
    )


def _assign_roles(rng: np.random.Generator, devices: int) -> np.ndarray:
    nas_count = max(1, devices // DEVICES_PER_NAS)
    rest = devices - nas_count
    shares = np.array(list(ROLE_SHARES.values()))
    counts = np.floor(shares * rest).astype(np.int64)
    # Largest remainders take the devices left over by rounding down.
    for index in np.argsort(-(shares * rest - counts), kind="stable")[: rest - int(counts.sum())]:
        counts[index] += 1
    # Every network has at least one camera and one laptop, the first victims of the attack scenarios.
    for role in ("camera", "laptop"):
        position = list(ROLE_SHARES).index(role)
        if counts[position] == 0:
            counts[int(np.argmax(counts))] -= 1
            counts[position] += 1

    codes = np.concatenate([np.full(count, ROLES.index(role)) for role, count in zip(ROLE_SHARES, counts.tolist())])
    codes = np.concatenate([codes, np.full(nas_count, ROLES.index("nas"))])
    return rng.permutation(codes).astype(np.uint8)


def _vendor_clouds(rng: np.random.Generator, roles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    devices = roles.size
    endpoints: dict[str, np.ndarray] = {}
    for role, vendors in VENDORS_PER_ROLE.items():
        # Each vendor's endpoints share one public /24, so a vendor's flows go to one address block.
        blocks = random_public(rng, vendors) & np.uint32(0xFFFFFF00)
        hosts = rng.integers(2, 255, size=(vendors, ENDPOINTS_PER_VENDOR)).astype(np.uint32)
        endpoints[role] = blocks[:, None] + hosts

    cloud = np.zeros((devices, 2), dtype=np.uint32)
    cloud_count = np.ones(devices, dtype=np.int64)
    every_endpoint = np.concatenate([block.ravel() for block in endpoints.values()])
    for index, code in enumerate(roles.tolist()):
        role = ROLES[code]
        if role in endpoints:
            vendor = endpoints[role][rng.integers(len(endpoints[role]))]
            cloud[index] = rng.choice(vendor, size=2, replace=False)
            cloud_count[index] = 2 if role == "camera" and rng.random() < 0.5 else 1
        else:
            # Phones and laptops reach the clouds of the apps that control the IoT devices.
            cloud[index] = rng.choice(every_endpoint, size=2, replace=False)
            cloud_count[index] = 2
    return cloud, cloud_count


# --------------------------------------------------------------------------- benign traffic


def _event_times(rng: np.random.Generator, owners: int, traffic: Traffic, *, rate: float, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Draw event times for ``owners`` devices and return (owner index, ts) arrays."""
    span = end - start
    if traffic.timing is Timing.PERIODIC:
        period = 3600.0 / rate
        phase = rng.uniform(0, period, owners)
        counts = np.maximum(np.floor((span - phase) / period).astype(np.int64) + 1, 0)
        owner = np.repeat(np.arange(owners), counts)
        step = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        ts = start + phase[owner] + step * period + rng.normal(0, traffic.jitter * period, owner.size)
    elif traffic.timing is Timing.POISSON:
        owner = np.repeat(np.arange(owners), rng.poisson(rate * span / 3600.0, owners))
        ts = rng.uniform(start, end, owner.size)
    elif traffic.timing is Timing.DIURNAL:
        owner, ts = _diurnal_times(rng, owners, rate=rate, start=start, end=end)
    else:
        owner, ts = _burst_times(rng, owners, rate=rate, start=start, end=end)

    keep = (ts >= start) & (ts < end)
    return owner[keep], ts[keep]


def _diurnal_times(rng: np.random.Generator, owners: int, *, rate: float, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    # Thinning: draw at the peak rate and keep each event with the activity at its hour.
    peak = float(HUMAN_ACTIVITY.max())
    owner = np.repeat(np.arange(owners), rng.poisson(peak * rate * (end - start) / 3600.0, owners))
    ts = rng.uniform(start, end, owner.size)
    keep = rng.random(owner.size) * peak < human_activity(ts)
    return owner[keep], ts[keep]


def _burst_times(rng: np.random.Generator, owners: int, *, rate: float, start: float, end: float, flows_per_burst: float = 6.0, gap: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    session_owner, session_ts = _diurnal_times(rng, owners, rate=rate / flows_per_burst, start=start, end=end)
    sizes = rng.geometric(1.0 / flows_per_burst, session_owner.size)
    owner = np.repeat(session_owner, sizes)
    # Flows of a session follow each other after exponential gaps of ``gap`` seconds on average.
    offsets = np.cumsum(rng.exponential(gap, owner.size))
    session_first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    offsets -= np.concatenate([[0.0], offsets])[session_first]
    return owner, np.repeat(session_ts, sizes) + offsets


def human_activity(ts: np.ndarray) -> np.ndarray:
    """Return the relative activity of people (mean 1) at each epoch time, interpolated by hour."""
    hour = (np.asarray(ts, dtype=np.float64) / 3600.0) % 24.0
    below = np.floor(hour).astype(np.int64)
    weight = hour - below
    return HUMAN_ACTIVITY[below] * (1 - weight) + HUMAN_ACTIVITY[(below + 1) % 24] * weight


def _peer_addresses(rng: np.random.Generator, network: Network, peers: Peers, devices: np.ndarray) -> np.ndarray:
    """Return one peer address per flow of ``devices``, or 0 where the device has no such peer."""
    size = devices.size
    if peers is Peers.GATEWAY:
        return network.gateways[network.subnet[devices]]
    if peers is Peers.NTP:
        # Each device keeps two of the pool servers, like a client that resolved the pool once.
        first = devices % NTP_SERVERS
        return network.ntp_servers[(first + rng.integers(0, 2, size)) % NTP_SERVERS]
    if peers is Peers.VENDOR:
        column = (rng.random(size) * network.cloud_count[devices]).astype(np.int64)
        return network.cloud[devices, column]
    if peers is Peers.WEB:
        return network.web_hosts[rng.choice(WEB_HOSTS, size=size, p=network.web_weights)]
    if peers is Peers.NAS:
        return network.addresses[network.nas_of[devices]]
    if peers is Peers.SSDP:
        return np.full(size, SSDP_GROUP, dtype=np.uint32)
    return _local_iot_peers(rng, network, devices)


def _local_iot_peers(rng: np.random.Generator, network: Network, devices: np.ndarray) -> np.ndarray:
    iot = network.members(*sorted(IOT_ROLES))
    peers = np.zeros(devices.size, dtype=np.uint32)
    for device in np.unique(devices).tolist():
        candidates = iot[(network.subnet[iot] == network.subnet[device]) & (iot != device)]
        rows = np.flatnonzero(devices == device)
        if candidates.size:
            peers[rows] = network.addresses[rng.choice(candidates, size=rows.size)]
    return peers


def benign_flows(network: Network, *, seed: int, start: float, end: float, flows_per_device_hour: float | None = None) -> FlowBatch:
    """Generate every role's benign traffic between ``start`` and ``end`` (epoch seconds)."""
    # A requested rate is a mean over the simulated span, which may fall at night for people.
    span_activity = float(human_activity(np.linspace(start, end, 1001)).mean())
    batches = []
    for role_code, role in enumerate(ROLES):
        members = network.members(role)
        if not members.size:
            continue
        traffic_kinds = ROLE_TRAFFIC[role]
        scale = 1.0
        if flows_per_device_hour is not None:
            scale = flows_per_device_hour / sum(traffic.per_hour for traffic in traffic_kinds)
        for kind_index, traffic in enumerate(traffic_kinds):
            rng = np.random.default_rng([seed, 1, role_code, kind_index])
            rate = traffic.per_hour * scale
            if flows_per_device_hour is not None and traffic.timing in (Timing.DIURNAL, Timing.BURST):
                rate /= span_activity
            owner, ts = _event_times(rng, members.size, traffic, rate=rate, start=start, end=end)
            devices = members[owner]
            dst = _peer_addresses(rng, network, traffic.peers, devices)
            found = dst != 0
            batches.append(_traffic_flows(rng, network, traffic, devices[found], ts[found], dst[found]))
    return FlowBatch.concat(batches)


def _traffic_flows(rng: np.random.Generator, network: Network, traffic: Traffic, devices: np.ndarray, ts: np.ndarray, dst: np.ndarray) -> FlowBatch:
    size = devices.size
    return connections(
        rng,
        ts=ts,
        src=network.addresses[devices],
        dst=dst,
        dst_port=traffic.port,
        proto=traffic.proto,
        service=traffic.service,
        bytes_out=lognormal(rng, traffic.bytes_out, size),
        bytes_in=lognormal(rng, traffic.bytes_in, size) if traffic.bytes_in else 0,
        duration=lognormal(rng, traffic.duration, size, sigma=0.8),
        failure=traffic.failure,
        state=traffic.state,
        # NTP clients and SSDP announcers send from their service port.
        src_port=traffic.port if traffic.port in (123, 1900) else None,
    )


# --------------------------------------------------------------------------- writer


def zeek_uids(seed: int, count: int) -> list[str]:
    """Return ``count`` distinct Zeek-style connection uids: ``C`` and 17 base62 characters.

    Eleven characters encode a seeded bijection of the row number, which makes
    the uids unique. The other six are random.
    """
    rng = np.random.default_rng([seed, 2])
    keys = rng.integers(0, 2**63, size=3, dtype=np.uint64) | np.uint64(1)
    value = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        # Odd multipliers and xor-shifts are bijections on 64-bit integers.
        value = value * keys[0] + keys[1]
        value ^= value >> np.uint64(29)
        value *= keys[2]
        value ^= value >> np.uint64(32)

    digits = np.empty((count, 17), dtype=np.uint8)
    for position in range(11):
        digits[:, position] = (value % np.uint64(62)).astype(np.uint8)
        value //= np.uint64(62)
    digits[:, 11:] = rng.integers(0, 62, size=(count, 6), dtype=np.uint8)
    digits = digits[:, rng.permutation(17)]

    characters = np.empty((count, 18), dtype=np.uint8)
    characters[:, 0] = ord("C")
    characters[:, 1:] = _BASE62[digits]
    return characters.view("S18").ravel().astype("U18").tolist()


def _zeek_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(epoch))


def header_lines(opened: float) -> list[str]:
    """Return the IoT-23 conn.log.labeled header, opened at epoch time ``opened``."""
    return [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        f"#open\t{_zeek_time(opened)}",
        "#fields\t" + "\t".join(FIELDS) + "\t" + LABEL_JOIN.join(("tunnel_parents", "label", "detailed-label")),
        "#types\t" + "\t".join(TYPES) + "\t" + LABEL_JOIN.join(("set[string]", "string", "string")),
    ]


def _counts(values: np.ndarray) -> list[str]:
    return ["-" if value < 0 else str(value) for value in values.tolist()]


def _data_lines(flows: FlowBatch, uids: list[str]) -> str:
    proto = np.array(PROTOS, dtype=object)
    service = np.array(SERVICES, dtype=object)
    # conn_state, the unset local_orig and local_resp, missed_bytes and history share one lookup.
    middle = np.array([f"{state}\t-\t-\t0\t{history}" for state in STATES for history in HISTORIES], dtype=object)
    tail = np.array(
        [LABEL_JOIN.join(("-", "Benign" if detail == "-" else "Malicious", detail)) for detail in DETAILED_LABELS],
        dtype=object,
    )
    columns = (
        [f"{value:.6f}" for value in flows.ts.tolist()],
        uids,
        ip_text(flows.src),
        list(map(str, flows.src_port.tolist())),
        ip_text(flows.dst),
        list(map(str, flows.dst_port.tolist())),
        proto[flows.proto].tolist(),
        service[flows.service].tolist(),
        ["-" if value != value else f"{value:.6f}" for value in flows.duration.tolist()],
        _counts(flows.bytes_out),
        _counts(flows.bytes_in),
        middle[flows.state.astype(np.int64) * len(HISTORIES) + flows.history].tolist(),
        list(map(str, flows.pkts_out.tolist())),
        list(map(str, flows.ip_bytes_out.tolist())),
        list(map(str, flows.pkts_in.tolist())),
        list(map(str, flows.ip_bytes_in.tolist())),
        tail[flows.label].tolist(),
    )
    return "".join(line + "\n" for line in map("\t".join, zip(*columns)))


def write_conn_log(flows: FlowBatch, handle: TextIO, *, seed: int, opened: float, closed: float) -> None:
    """Write ``flows`` (sorted by ts) as an IoT-23 labelled conn.log to ``handle``."""
    handle.write("\n".join(header_lines(opened)) + "\n")
    uids = zeek_uids(seed, len(flows))
    for first in range(0, len(flows), _CHUNK_ROWS):
        rows = np.arange(first, min(first + _CHUNK_ROWS, len(flows)))
        handle.write(_data_lines(flows.take(rows), uids[first : first + rows.size]))
    handle.write(f"#close\t{_zeek_time(closed)}\n")


# --------------------------------------------------------------------------- entry point


def simulate(config: SimulationConfig, out: Path | TextIO) -> SimulationResult:
    """Simulate the configured network and write its labelled conn.log to ``out``.

    ``out`` is a path (overwritten) or an open text stream, which stays open.
    """
    # The scenarios build on this module's flows and network, so they are imported at call time.
    from ingest.scenarios import run_attacks

    started = time.perf_counter()
    network = build_network(config.devices, seed=config.seed)
    benign = benign_flows(
        network, seed=config.seed, start=config.start, end=config.end, flows_per_device_hour=config.flows_per_device_hour
    )
    attacks, infected = run_attacks(
        config.attacks, network, seed=config.seed, start=config.start, end=config.end, infected_fraction=config.infected_fraction
    )
    flows = FlowBatch.concat([benign, attacks])
    flows = flows.take(np.argsort(flows.ts, kind="stable"))
    generated = time.perf_counter()

    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="ascii", newline="\n", buffering=io.DEFAULT_BUFFER_SIZE * 64) as handle:
            write_conn_log(flows, handle, seed=config.seed, opened=config.start, closed=config.end)
    else:
        write_conn_log(flows, out, seed=config.seed, opened=config.start, closed=config.end)

    labels, counts = np.unique(flows.label, return_counts=True)
    detailed = {DETAILED_LABELS[code]: int(count) for code, count in zip(labels.tolist(), counts.tolist())}
    result = SimulationResult(
        flows=len(flows),
        devices=len(network),
        malicious_flows=len(flows) - detailed.get("-", 0),
        infected=dict(zip(ip_text(np.array(list(infected), dtype=np.uint32)), infected.values())),
        roles=network.role_names(),
        labels=detailed,
    )
    logger.info(
        "simulated %d flows (%d malicious) of %d devices in %.1f s, written in %.1f s",
        result.flows, result.malicious_flows, result.devices, generated - started, time.perf_counter() - generated,
    )  # fmt: skip
    return result
