"""Errors raised by graph stores.

    StoreError
    ├── StoreConfigError        bad store URL, window settings that differ from the stored ones
    ├── DuplicateFlowError      an ingest batch names a flow id that is already stored
    ├── NotFoundError           a device, window or job id that does not exist
    ├── InvalidRequestError     a value outside its allowed range (since > until, hops < 1)
    └── SchemaVersionError      the store was written by a newer schema
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error a GraphStore raises on purpose."""


class StoreConfigError(StoreError):
    pass


class DuplicateFlowError(StoreError):
    def __init__(self, count: int) -> None:
        super().__init__(f"{count} flow id(s) of this batch are already stored; filter them with new_flow_ids() first")
        self.count = count


class NotFoundError(StoreError):
    pass


class InvalidRequestError(StoreError):
    pass


class SchemaVersionError(StoreError):
    pass
