"""Readers that turn flow files into frames of the normalised flow record."""

from ingest.readers.base import BadLine, FlowFormatError, FlowReader, ReadReport
from ingest.readers.detect import FORMATS, detect_format
from ingest.readers.registry import open_flows

__all__ = [
    "BadLine",
    "FORMATS",
    "FlowFormatError",
    "FlowReader",
    "ReadReport",
    "detect_format",
    "open_flows",
]
