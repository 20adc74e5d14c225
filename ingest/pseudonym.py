"""Keyed pseudonyms for device addresses, applied to flows right after reading.

With ``iotgraph ingest --pseudonymise`` every source and destination address
becomes ``dev-`` plus the first 16 hex digits of HMAC-SHA256(key, address),
before windows, aggregates or anything else is computed. The same key always
gives the same pseudonym, so a device keeps one id across files and ingests.
Without the key a pseudonym can be neither reversed nor recomputed.

Flow ids are replaced by a keyed hash too, because the ids of formats
without a Zeek uid hash the raw line, address included. Whether a device is
internal is decided from its real address before the address is replaced.

The key comes from ``IOTGRAPH_PSEUDONYM_KEY`` and must be at least 16 bytes
(its UTF-8 encoding). The store records a fingerprint of the key, so a
second ingest with another key fails instead of splitting devices in two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.aggregate import is_internal

KEY_ENV = "IOTGRAPH_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PSEUDONYM_PREFIX = "dev-"
# 16 hex digits are 64 bits: among a million devices two share a pseudonym
# with a probability of about 3e-8.
PSEUDONYM_HEX_DIGITS = 16
FLOW_ID_PREFIX = "p"
FLOW_ID_HEX_DIGITS = 24


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing or too short; the message explains how to set it."""


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """Return the key in ``IOTGRAPH_PSEUDONYM_KEY``; raise PseudonymKeyError when it is unset or shorter than 16 bytes."""
    environ = os.environ if environ is None else environ
    value = environ.get(KEY_ENV, "")
    if not value:
        raise PseudonymKeyError(
            f"--pseudonymise needs a key, but {KEY_ENV} is not set; set it to a secret of at least "
            f"{MIN_KEY_BYTES} bytes, e.g. export {KEY_ENV}=$(openssl rand -hex 32), and keep it: "
            "the same key is needed to add flows to this store later"
        )
    return check_key(value.encode("utf-8"))


def check_key(key: bytes) -> bytes:
    """Return ``key`` unchanged; raise PseudonymKeyError when it is shorter than MIN_KEY_BYTES."""
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"invalid {KEY_ENV}: it is {len(key)} bytes long, at least {MIN_KEY_BYTES} are required; "
            f"generate one with `openssl rand -hex 32`"
        )
    return key


@dataclass
class PseudonymisedFlows:
    """Flows with pseudonyms in ``src``/``dst``, and what only an admin may see.

    ``addresses`` maps each pseudonym of the chunk to its real address,
    ``internal`` to the internal/external class of that address and
    ``last_seen`` to its latest flow time (epoch seconds).
    """

    flows: pd.DataFrame
    addresses: dict[str, str]
    internal: dict[str, bool]
    last_seen: dict[str, float]

    def rows_for(self, device_ids: set[str]) -> list[tuple[str, str, float]]:
        """Return (pseudonym, address, last_seen) rows for the given pseudonyms, sorted by pseudonym."""
        return [(pseudonym, self.addresses[pseudonym], self.last_seen[pseudonym]) for pseudonym in sorted(device_ids)]


class Pseudonymiser:
    """Replace addresses and flow ids with HMAC-SHA256 pseudonyms under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = check_key(key)
        self._cache: dict[str, str] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Pseudonymiser:
        return cls(key_from_env(environ))

    @property
    def key_id(self) -> str:
        """A fingerprint of the key (not the key) that the store keeps to reject a second key."""
        return self._digest(b"key-id", b"")[:PSEUDONYM_HEX_DIGITS]

    def pseudonym(self, address: str) -> str:
        """Return ``dev-`` and 16 hex digits for one address."""
        cached = self._cache.get(address)
        if cached is None:
            cached = PSEUDONYM_PREFIX + self._digest(b"device", address.encode("utf-8"))[:PSEUDONYM_HEX_DIGITS]
            self._cache[address] = cached
        return cached

    def flow_id(self, flow_id: str) -> str:
        return FLOW_ID_PREFIX + self._digest(b"flow", flow_id.encode("utf-8", "surrogateescape"))[:FLOW_ID_HEX_DIGITS]

    def apply(self, flows: pd.DataFrame) -> PseudonymisedFlows:
        """Return a copy of ``flows`` with pseudonymous ``src``, ``dst`` and ``flow_id``, and the mapping back."""
        addresses: dict[str, str] = {}
        internal: dict[str, bool] = {}
        last_seen: dict[str, float] = {}
        out = flows.copy()

        for column in ("src", "dst"):
            real = flows[column].to_numpy(dtype=object)
            unique = pd.unique(real)
            replaced = {address: self.pseudonym(str(address)) for address in unique}
            out[column] = np.array([replaced[address] for address in real], dtype=object)
            latest = flows.groupby(column, sort=False)["ts"].max()
            for address, pseudonym in replaced.items():
                addresses[pseudonym] = str(address)
                internal[pseudonym] = is_internal(str(address))
                last_seen[pseudonym] = max(last_seen.get(pseudonym, float("-inf")), float(latest[address]))

        out["flow_id"] = [self.flow_id(str(flow_id)) for flow_id in flows["flow_id"]]
        return PseudonymisedFlows(flows=out, addresses=addresses, internal=internal, last_seen=last_seen)

    def _digest(self, purpose: bytes, message: bytes) -> str:
        # The purpose label keeps device, flow and key-id hashes of one key apart.
        return hmac.new(self._key, purpose + b"\x00" + message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"Pseudonymiser(key_id={self.key_id!r})"


def classify_devices(devices: pd.DataFrame, pseudonymised: PseudonymisedFlows) -> pd.DataFrame:
    """Return a batch's device frame with ``internal`` taken from the real addresses and ``ip`` left unset.

    ``ingest.aggregate.aggregate_devices`` derives both from the id, which
    is a pseudonym here.
    """
    out = devices.copy()
    out["internal"] = [pseudonymised.internal[str(device_id)] for device_id in out["id"]]
    out["ip"] = None
    return out
