"""API keys and roles.

A token reads ``igk_<key id>_<secret>``: the key id finds the stored key in
one dictionary lookup, and only the SHA-256 of the secret is stored. Keys live
in a JSON file with mode 0600 that the server rereads whenever it changes, so
``iotgraph apikey create`` and ``revoke`` take effect without a restart.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "igk"
KEYS_FILE_VERSION = 1
_KEY_ID_BYTES = 6
_SECRET_BYTES = 32
HOW_TO_AUTHENTICATE = (
    "send the header 'Authorization: Bearer igk_<key id>_<secret>' or 'X-API-Key: igk_<key id>_<secret>'; "
    "an admin creates a key with `iotgraph apikey create --role viewer`"
)


class Role(str, enum.Enum):
    """Permission level of a key: viewers read, analysts also rescore, label and cancel jobs, admins do everything."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


_ROLE_RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2}


class AuthenticationError(Exception):
    """A request without a usable API key; the message explains how to authenticate."""


class KeysFileError(Exception):
    """A keys file that cannot be read or written."""


@dataclass(frozen=True)
class Principal:
    """The sender of a request. Jobs and analyst labels record its key id."""

    key_id: str
    name: str
    role: Role


# The identity of every request when the server runs with --no-auth.
LOCAL_PRINCIPAL = Principal(key_id="local", name="no-auth", role=Role.ADMIN)


@dataclass
class ApiKey:
    """One stored key; ``secret_sha256`` is the hex SHA-256 of the token's secret part."""

    id: str
    name: str
    role: Role
    secret_sha256: str
    created: float
    revoked: float | None = None

    def to_json(self) -> dict[str, object]:
        record = asdict(self)
        record["role"] = self.role.value
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, object], *, path: Path) -> ApiKey:
        try:
            return cls(
                id=str(record["id"]),
                name=str(record.get("name") or ""),
                role=Role(record["role"]),
                secret_sha256=str(record["secret_sha256"]),
                created=float(record["created"]),  # type: ignore[arg-type]  # JSON number
                revoked=None if record.get("revoked") is None else float(record["revoked"]),  # type: ignore[arg-type]
            )
        except (KeyError, ValueError, TypeError) as error:
            raise KeysFileError(f"invalid key record {record!r} in {path}: {error}; fix or remove it") from error


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str]:
    """Split ``igk_<key id>_<secret>`` into key id and secret; raise AuthenticationError when malformed."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        raise AuthenticationError(f"invalid API key: expected the format igk_<key id>_<secret>; {HOW_TO_AUTHENTICATE}")
    return parts[1], parts[2]


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """Return the token of an ``Authorization: Bearer`` or ``X-API-Key`` header, or None when neither is set."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError(f"invalid Authorization header: expected 'Bearer <token>'; {HOW_TO_AUTHENTICATE}")
        return value.strip()
    api_key = headers.get("x-api-key")
    if api_key is not None:
        return api_key.strip()
    return None


class KeyStore:
    """The keys file: create, list, revoke and verify API keys.

    Writes replace the file atomically with mode 0600. Reads reload the file
    when its modification time or size changed since the last read.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._signature: tuple[int, int] | None = None

    # -- reading -------------------------------------------------------------

    def keys(self) -> list[ApiKey]:
        """Return every key, revoked ones included, oldest first."""
        with self._lock:
            self._reload()
            return sorted(self._keys.values(), key=lambda key: (key.created, key.id))

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid token; raise AuthenticationError otherwise."""
        key_id, secret = split_token(token)
        with self._lock:
            self._reload()
            key = self._keys.get(key_id)
        if key is None or not hmac.compare_digest(key.secret_sha256, hash_secret(secret)):
            raise AuthenticationError(f"invalid API key igk_{key_id}_…: unknown key id or wrong secret; {HOW_TO_AUTHENTICATE}")
        if key.revoked is not None:
            raise AuthenticationError(f"API key {key_id} was revoked; ask an admin for a new one ({HOW_TO_AUTHENTICATE})")
        return Principal(key_id=key.id, name=key.name, role=key.role)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """Return the principal of a request's headers; raise AuthenticationError when the key is missing or invalid."""
        token = token_from_headers(headers)
        if token is None:
            raise AuthenticationError(f"missing API key: {HOW_TO_AUTHENTICATE}")
        return self.verify(token)

    # -- writing -------------------------------------------------------------

    def create(self, *, role: Role | str, name: str = "", now: float | None = None) -> tuple[ApiKey, str]:
        """Create a key and return it with its token; the token is not stored and cannot be shown again."""
        role = Role(role)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        with self._lock:
            self._reload()
            key_id = secrets.token_hex(_KEY_ID_BYTES)
            while key_id in self._keys:
                key_id = secrets.token_hex(_KEY_ID_BYTES)
            key = ApiKey(
                id=key_id,
                name=name,
                role=role,
                secret_sha256=hash_secret(secret),
                created=time.time() if now is None else now,
            )
            self._keys[key_id] = key
            self._write()
        logger.info("created API key %s (role %s, name %r) in %s", key_id, role.value, name, self.path)
        return key, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str, *, now: float | None = None) -> ApiKey:
        """Mark a key revoked; KeyError names the id when it is unknown. Revoking twice keeps the first time."""
        with self._lock:
            self._reload()
            key = self._keys.get(key_id)
            if key is None:
                raise KeyError(key_id)
            if key.revoked is None:
                key.revoked = time.time() if now is None else now
                self._write()
                logger.info("revoked API key %s in %s", key_id, self.path)
            return key

    # -- file handling ---------------------------------------------------------

    def _reload(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._keys = {}
            self._signature = None
            return
        signature = (info.st_mtime_ns, info.st_size)
        if signature == self._signature:
            return

        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("keys file %s is readable by other users (mode %o); run chmod 600 %s", self.path, info.st_mode & 0o777, self.path)
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise KeysFileError(f"cannot read keys file {self.path}: {error}; restore it or remove it and create new keys") from error
        if not isinstance(document, dict) or document.get("version") != KEYS_FILE_VERSION or not isinstance(document.get("keys"), list):
            raise KeysFileError(f"keys file {self.path} is not a version {KEYS_FILE_VERSION} iotgraph keys file; restore it or remove it")

        keys = [ApiKey.from_json(record, path=self.path) for record in document["keys"]]
        self._keys = {key.id: key for key in keys}
        self._signature = signature

    def _write(self) -> None:
        document = {"version": KEYS_FILE_VERSION, "keys": [key.to_json() for key in self._keys.values()]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        # The file is created with mode 0600 so the hashes are never readable by others, even briefly.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)
        info = self.path.stat()
        self._signature = (info.st_mtime_ns, info.st_size)
