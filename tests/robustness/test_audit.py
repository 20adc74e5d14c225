"""The audit log: one record per request with who, what, which devices, when and the outcome; no secret anywhere."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from tests.api.support import CAMERA, CNC, INFECTED, T1
from tests.robustness.api_support import running_api
from typer.testing import CliRunner

from api.audit import AuditLog, AuditRecord
from iotgraph.cli import app as cli


def records(path: Path) -> list[AuditRecord]:
    return list(AuditLog(path).read())


def test_query_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        started = time.time()
        api.post(f'{{ device(id: "{CAMERA}") {{ id score }} }}')
        path = api.settings.audit_path
    (record,) = records(path)
    key_id = api.tokens["viewer"].split("_")[1]
    assert (record.key_id, record.role, record.operation) == (key_id, "viewer", "device")
    assert record.devices == [CAMERA]
    assert (record.outcome, record.status, record.codes) == ("ok", 200, [])
    assert started <= record.ts <= time.time()


def test_neighborhood_devices_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post(f'{{ neighborhood(deviceId: "{INFECTED}", hops: 1) {{ nodes {{ id }} }} }}')
        path = api.settings.audit_path
    (record,) = records(path)
    assert set(record.devices) == {INFECTED, CAMERA, "192.168.1.11", CNC}
    assert record.devices_total == 4


def test_suspicious_devices_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post(f"{{ suspiciousDevices(window: {T1}, limit: 2) {{ deviceId score }} }}")
        path = api.settings.audit_path
    (record,) = records(path)
    assert record.devices == [INFECTED, CNC]


def test_forbidden_mutation_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post(f'mutation {{ labelDevice(id: "{CAMERA}", label: MALICIOUS) {{ id }} }}')
        path = api.settings.audit_path
    (record,) = records(path)
    assert (record.operation, record.outcome, record.status, record.codes) == ("labelDevice", "error", 403, ["FORBIDDEN"])
    assert record.devices == [CAMERA]


def test_unauthenticated_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post("{ windows { start } }", role=None)
        path = api.settings.audit_path
    (record,) = records(path)
    assert (record.key_id, record.role, record.status, record.codes) == (None, None, 401, ["UNAUTHENTICATED"])


def test_rate_limited_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit=60, rate_burst=1) as api:
        api.post("{ __typename }")
        api.post("{ __typename }")
        path = api.settings.audit_path
    assert [record.outcome for record in records(path)] == ["ok", "rate_limited"]


def test_too_large_recorded(tmp_path: Path) -> None:
    with running_api(tmp_path, max_body_bytes=2048) as api:
        api.post("{ __typename }", variables={"padding": "x" * 4000})
        path = api.settings.audit_path
    (record,) = records(path)
    assert (record.outcome, record.status) == ("too_large", 413)


def test_audit_file_private(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post("{ __typename }")
        path = api.settings.audit_path
    assert path.stat().st_mode & 0o777 == 0o600


def test_tokens_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_api(tmp_path) as api:
        for role in ("viewer", "analyst", "admin"):
            api.post(f'{{ device(id: "{CAMERA}") {{ id }} }}', role=role)
            api.post("mutation { rescore { id } }", role=role)
        wrong = api.tokens["viewer"][:-4] + "AAAA"
        api.client.post("/graphql", json={"query": "{ windows { start } }"}, headers={"Authorization": f"Bearer {wrong}"})
        api.client.post("/graphql", json={"query": "{ windows { start } }"}, headers={"X-API-Key": api.tokens["admin"]})
        path = api.settings.audit_path
    secrets = [token.split("_", 2)[2] for token in api.tokens.values()] + [wrong.split("_", 2)[2]]
    texts = {"audit log": path.read_text(), "logs": "\n".join(record.getMessage() for record in caplog.records), "keys file": (tmp_path / "keys.json").read_text()}
    found = [(where, secret[:6]) for where, text in texts.items() for secret in secrets if secret in text]
    assert found == []


def test_cli_shows_recent_requests(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.post(f'{{ device(id: "{CAMERA}") {{ id }} }}')
        api.post("{ windows { start } }", role="admin")
        path = api.settings.audit_path
    result = CliRunner().invoke(cli, ["audit", "--since", "1h", "--file", str(path), "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0
    assert [line["operation"] for line in lines] == ["device", "windows"]


def test_cli_since_filters_old(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.write(AuditRecord(ts=time.time() - 7200, request_id="old", key_id="k1", role="viewer", operation="windows", outcome="ok", status=200))
    log.write(AuditRecord(ts=time.time() - 60, request_id="new", key_id="k1", role="viewer", operation="device", outcome="ok", status=200))
    result = CliRunner().invoke(cli, ["audit", "--since", "1h", "--file", str(path), "--json"])
    assert [json.loads(line)["request_id"] for line in result.stdout.splitlines()] == ["new"]


def test_cli_filters_key_and_device(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.write(AuditRecord(ts=time.time(), request_id="a", key_id="k1", role="viewer", operation="device", outcome="ok", status=200, devices=["d1"]))
    log.write(AuditRecord(ts=time.time(), request_id="b", key_id="k2", role="viewer", operation="device", outcome="ok", status=200, devices=["d1"]))
    log.write(AuditRecord(ts=time.time(), request_id="c", key_id="k2", role="viewer", operation="device", outcome="ok", status=200, devices=["d2"]))
    result = CliRunner().invoke(cli, ["audit", "--since", "all", "--file", str(path), "--json", "--key", "k2", "--device", "d1"])
    assert [json.loads(line)["request_id"] for line in result.stdout.splitlines()] == ["b"]


def test_cli_table_output(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).write(AuditRecord(ts=time.time(), request_id="a", key_id="k1", role="viewer", operation="neighborhood", outcome="ok", status=200))
    result = CliRunner().invoke(cli, ["audit", "--file", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "neighborhood" in result.stdout


def test_cli_missing_log(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "--file", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "no audit log at" in result.output


def test_malformed_line_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog(path).write(AuditRecord(ts=1.0, request_id="a", key_id=None, role=None, operation="-", outcome="ok", status=200))
    with path.open("a") as handle:
        handle.write("{not json\n")
    assert [record.request_id for record in AuditLog(path).read()] == ["a"]
