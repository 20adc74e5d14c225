"""The ``Neighborhood`` type: devices around one device and the edges between them."""

from __future__ import annotations

import strawberry

from api.types.device import Device
from api.types.scalars import BigInt, Timestamp
from graphdb.model import Edge as EdgeRecord
from graphdb.model import Subgraph


@strawberry.type(description="How many flows of an edge had one value (a protocol or a destination port).")
class ValueCount:
    value: str
    flows: BigInt


def _counts(histogram: dict[str, int]) -> list[ValueCount]:
    ordered = sorted(histogram.items(), key=lambda item: (-item[1], item[0]))
    return [ValueCount(value=value, flows=BigInt(count)) for value, count in ordered]


@strawberry.type(description="A COMMUNICATED edge: all flows from source to target in one window, aggregated.")
class Communication:
    source: strawberry.ID = strawberry.field(description="The device that originated the flows.")
    target: strawberry.ID = strawberry.field(description="The device that responded to them.")
    window: Timestamp = strawberry.field(description="Start of the edge's window.")
    window_end: Timestamp
    flows: BigInt
    bytes_out: BigInt = strawberry.field(description="Bytes sent from source to target.")
    bytes_in: BigInt = strawberry.field(description="Bytes sent back from target to source.")
    pkts_out: BigInt
    pkts_in: BigInt
    failed_flows: BigInt = strawberry.field(description="Flows that never completed a handshake or were rejected.")
    malicious_flows: BigInt = strawberry.field(description="Flows the capture labels malicious.")
    first_ts: Timestamp
    last_ts: Timestamp
    protocols: list[ValueCount] = strawberry.field(description="Flows per transport protocol, most frequent first.")
    ports: list[ValueCount] = strawberry.field(description="Flows per destination port, most frequent first.")
    score: float | None = strawberry.field(description="The score the model gave this edge, when it stored one.")
    score_model_version: str | None

    @classmethod
    def from_record(cls, edge: EdgeRecord) -> Communication:
        return cls(
            source=strawberry.ID(edge.src),
            target=strawberry.ID(edge.dst),
            window=Timestamp(edge.window_start),
            window_end=Timestamp(edge.window_end),
            flows=BigInt(edge.flows),
            bytes_out=BigInt(edge.bytes_out),
            bytes_in=BigInt(edge.bytes_in),
            pkts_out=BigInt(edge.pkts_out),
            pkts_in=BigInt(edge.pkts_in),
            failed_flows=BigInt(edge.failed_flows),
            malicious_flows=BigInt(edge.malicious_flows),
            first_ts=Timestamp(edge.first_ts),
            last_ts=Timestamp(edge.last_ts),
            protocols=_counts(edge.protocols),
            ports=_counts(edge.dst_ports),
            score=edge.score,
            score_model_version=edge.score_model_version,
        )


@strawberry.type(description="Devices within some hops of a center device and the edges among them.")
class Neighborhood:
    center: strawberry.ID
    nodes: list[Device] = strawberry.field(description="The center first, then peers nearest first.")
    edges: list[Communication] = strawberry.field(description="Edges between returned nodes, oldest window first.")
    truncated: bool = strawberry.field(description="True when the node limit cut the result; lower hops or narrow the time range.")

    @classmethod
    def from_record(cls, center: str, subgraph: Subgraph) -> Neighborhood:
        return cls(
            center=strawberry.ID(center),
            nodes=[Device.from_record(node) for node in subgraph.nodes],
            edges=[Communication.from_record(edge) for edge in subgraph.edges],
            truncated=subgraph.truncated,
        )
