"""Checks of client input: ids, time ranges, labels and cursors.

Each check raises ``InputError`` with a message naming the argument, the
value received and what is expected, so a bad request is a GraphQL error
and never reaches the store.
"""

from __future__ import annotations

import base64
import binascii
import math
import unicodedata

from api.errors import InputError

MAX_ID_LENGTH = 256
MAX_NOTE_LENGTH = 2000
_CURSOR_PREFIX = "device:"


def _preview(value: str, length: int = 40) -> str:
    return repr(value if len(value) <= length else value[:length] + "…")


def check_id(value: str, *, argument: str) -> str:
    """Return a device, job or model id unchanged; raise InputError when empty, too long or with control characters."""
    if not value or not value.strip():
        raise InputError(f"invalid {argument}: it is empty; pass a non-empty id such as 192.168.1.195")
    if len(value) > MAX_ID_LENGTH:
        raise InputError(f"invalid {argument} {_preview(value)}: {len(value)} characters, at most {MAX_ID_LENGTH} are allowed")
    for position, character in enumerate(value):
        if unicodedata.category(character) in ("Cc", "Cf"):
            raise InputError(
                f"invalid {argument} {_preview(value)}: control character U+{ord(character):04X} at position {position}; "
                "ids contain printable characters only"
            )
    return value


def check_time(value: float | None, *, argument: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise InputError(f"invalid {argument} {value!r}: expected finite epoch seconds or an ISO 8601 time")
    return value


def check_range(since: float | None, until: float | None) -> tuple[float | None, float | None]:
    """Return (since, until) unchanged; raise InputError when since is after until."""
    check_time(since, argument="since")
    check_time(until, argument="until")
    if since is not None and until is not None and since > until:
        raise InputError(f"invalid time range: since {since:g} is after until {until:g}; swap them or widen the range")
    return since, until


def check_note(note: str | None) -> str | None:
    if note is None:
        return None
    if len(note) > MAX_NOTE_LENGTH:
        raise InputError(f"invalid note: {len(note)} characters, at most {MAX_NOTE_LENGTH} are allowed")
    for position, character in enumerate(note):
        if unicodedata.category(character) == "Cc" and character not in "\n\t":
            raise InputError(f"invalid note: control character U+{ord(character):04X} at position {position}")
    return note


def check_score(value: float | None, *, argument: str) -> float | None:
    if value is not None and not (0.0 <= value <= 1.0):
        raise InputError(f"invalid {argument} {value!r}: scores lie in [0, 1]")
    return value


def encode_cursor(device_id: str) -> str:
    """Return the opaque cursor that pages past ``device_id``."""
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + device_id).encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> str:
    """Return the device id inside a cursor from ``endCursor``; raise InputError for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as error:
        raise InputError(f"invalid cursor {_preview(cursor)}: pass the endCursor of the previous page unchanged") from error
    if not text.startswith(_CURSOR_PREFIX):
        raise InputError(f"invalid cursor {_preview(cursor)}: pass the endCursor of the previous page unchanged")
    return check_id(text[len(_CURSOR_PREFIX) :], argument="cursor device id")
