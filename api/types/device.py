"""The ``Device`` and ``Score`` types, which refer to each other through DataLoaders."""

from __future__ import annotations

import enum

import strawberry

from api.types.scalars import Timestamp
from api.validation import check_time
from graphdb.model import Device as DeviceRecord
from graphdb.model import DeviceScore


@strawberry.enum(description="An analyst's verdict on a device, stored apart from the capture's ground-truth label.")
class AnalystLabel(enum.Enum):
    MALICIOUS = "malicious"
    BENIGN = "benign"
    UNSURE = "unsure"


def _analyst_label(value: str | None) -> AnalystLabel | None:
    return None if value is None else AnalystLabel(value)


def _time(value: float | None) -> Timestamp | None:
    return None if value is None else Timestamp(value)


@strawberry.type(description="A device (an IP address, or a pseudonym) seen in the flows.")
class Device:
    id: strawberry.ID
    ip: str | None
    internal: bool = strawberry.field(description="True for private, loopback and link-local addresses.")
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    label: str = strawberry.field(description="Ground-truth label from the capture: malicious when the device originated a malicious flow, benign when any of its flows carried a label, else unknown.")
    score: float | None = strawberry.field(description="Latest anomaly score in [0, 1]; null until a model scored the device.")
    score_window: Timestamp | None = strawberry.field(description="Start of the window the latest score comes from.")
    predicted_label: str | None = strawberry.field(description="The model's verdict in that window: malicious or benign.")
    model_version: str | None
    scored_at: Timestamp | None
    analyst_label: AnalystLabel | None
    analyst_note: str | None
    labelled_by: str | None = strawberry.field(description="API key id of the analyst who set analystLabel.")
    labelled_at: Timestamp | None

    @strawberry.field(description="The device's score in one window, with its rank; the latest score when window is null.")
    async def window_score(self, info: strawberry.Info, window: Timestamp | None = None) -> Score | None:
        check_time(window, argument="window")
        found = await info.context.loaders.scores.load((str(self.id), window))
        return None if found is None else Score.from_record(found)

    @classmethod
    def from_record(cls, device: DeviceRecord) -> Device:
        return cls(
            id=strawberry.ID(device.id),
            ip=device.ip,
            internal=device.internal,
            first_seen=_time(device.first_seen),
            last_seen=_time(device.last_seen),
            label=device.label,
            score=device.anomaly_score,
            score_window=_time(device.anomaly_window),
            predicted_label=device.predicted_label,
            model_version=device.model_version,
            scored_at=_time(device.scored_at),
            analyst_label=_analyst_label(device.analyst_label),
            analyst_note=device.analyst_note,
            labelled_by=device.analyst_by,
            labelled_at=_time(device.analyst_at),
        )


@strawberry.type(description="A device's anomaly score in one window.")
class Score:
    device_id: strawberry.ID
    window: Timestamp = strawberry.field(description="Start of the scored window.")
    score: float = strawberry.field(description="Anomaly score in [0, 1]; higher is more suspicious.")
    rank: int | None = strawberry.field(description="1 for the window's most suspicious device.")
    predicted: bool | None = strawberry.field(description="True when the model calls the device malicious in this window.")
    model_version: str
    scored_at: Timestamp | None
    has_explanation: bool = strawberry.field(description="True when the reasons of this score are stored; query explanation for them.")

    @strawberry.field(description="The scored device.")
    async def device(self, info: strawberry.Info) -> Device | None:
        found = await info.context.loaders.devices.load(str(self.device_id))
        return None if found is None else Device.from_record(found)

    @classmethod
    def from_record(cls, score: DeviceScore) -> Score:
        return cls(
            device_id=strawberry.ID(score.device_id),
            window=Timestamp(score.window_start),
            score=float(score.score),
            rank=score.rank,
            predicted=score.predicted,
            model_version=score.model_version,
            scored_at=_time(score.scored_at),
            has_explanation=bool(score.explanation),
        )


@strawberry.input(description="Conditions a device must meet; unset fields do not filter.")
class DeviceFilter:
    min_score: float | None = strawberry.field(default=None, description="Keep devices whose latest score is at least this, in [0, 1].")
    internal: bool | None = strawberry.field(default=None, description="Keep internal (true) or external (false) devices.")
    label: str | None = strawberry.field(default=None, description="Keep devices with this ground-truth label: malicious, benign or unknown.")


@strawberry.type(description="One page of devices ordered by id.")
class DeviceConnection:
    items: list[Device]
    end_cursor: str | None = strawberry.field(description="Pass as after to get the next page; null on an empty page.")
    has_next_page: bool
