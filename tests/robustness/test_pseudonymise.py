"""Pseudonymised ingest: no real address reaches the store, the logs or the API; only admins resolve one."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest
from tests.robustness.api_support import running_api
from tests.robustness.support import CLOUD, DEVICES, GATEWAY, INFECTED, ZEEK_HEADER, network_lines
from typer.testing import CliRunner

from api.audit import AuditLog
from graphdb import StoreConfigError, open_store
from graphdb.load import load_files
from graphdb.model import DeviceScore
from ingest.pseudonym import PseudonymKeyError, Pseudonymiser, key_from_env
from iotgraph.cli import app as cli

KEY = "correct horse battery staple 2024"
OTHER_KEY = "a different key of 32 characters"
ADDRESSES = [*DEVICES, GATEWAY, *CLOUD, INFECTED]
PSEUDONYM = re.compile(r"^dev-[0-9a-f]{16}$")


LINES = network_lines(windows=4)
# The line after the six header lines and the network's lines. It is skipped, and its text contains addresses.
BAD_LINE_NUMBER = 6 + len(LINES) + 1


def write_log(path: Path) -> Path:
    """Four windows of the network (the scan starts in the fourth), plus a line that is skipped."""
    bad = "\t".join(["1700000200.0", "CBAD", "192.168.1.10", "1", "192.168.1.1", "99999", "tcp"] + ["-"] * 9)
    path.write_text(ZEEK_HEADER + "\n".join([*LINES, bad]) + "\n", encoding="utf-8")
    return path


def ingest(tmp_path: Path, *, key: str | None = KEY, extra: list[str] | None = None) -> tuple[str, object]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    log = tmp_path / "conn.log"
    if not log.exists():
        write_log(log)
    env = {"IOTGRAPH_PSEUDONYM_KEY": key} if key is not None else {"IOTGRAPH_PSEUDONYM_KEY": ""}
    result = CliRunner().invoke(cli, ["ingest", "--store", url, "--pseudonymise", *(extra or []), str(log)], env={**env, "COLUMNS": "200"})
    return url, result


def store_texts(db_path: Path) -> list[str]:
    """Every text value in every table of a SQLite file."""
    texts = []
    with sqlite3.connect(db_path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names come from sqlite_master
                texts.extend(value for value in row if isinstance(value, str))
    return texts


def leaked(text: str) -> list[str]:
    return [address for address in ADDRESSES if address in text]


# -- the key -------------------------------------------------------------------------


def test_missing_key_fails(tmp_path: Path) -> None:
    _, result = ingest(tmp_path, key=None)
    assert result.exit_code == 2
    assert "IOTGRAPH_PSEUDONYM_KEY is not set" in result.output


def test_short_key_rejected(tmp_path: Path) -> None:
    _, result = ingest(tmp_path, key="fifteen bytes!!")
    assert result.exit_code == 2
    assert "it is 15 bytes long, at least 16 are required" in result.output


def test_short_key_rejected_in_api() -> None:
    with pytest.raises(PseudonymKeyError, match="at least 16"):
        Pseudonymiser(b"0123456789abcde")


def test_key_from_env_sixteen_bytes() -> None:
    assert key_from_env({"IOTGRAPH_PSEUDONYM_KEY": "0123456789abcdef"}) == b"0123456789abcdef"


def test_key_not_in_repr() -> None:
    assert KEY not in repr(Pseudonymiser(KEY.encode()))


# -- what is stored --------------------------------------------------------------------


def test_store_has_no_real_address(tmp_path: Path) -> None:
    url, result = ingest(tmp_path)
    db = tmp_path / "store.db"
    texts = "\n".join(store_texts(db))
    raw = db.read_bytes() + (db.with_name("store.db-wal").read_bytes() if db.with_name("store.db-wal").exists() else b"")
    assert result.exit_code == 0, result.output
    assert leaked(texts) == []
    assert [address for address in ADDRESSES if address.encode() in raw] == []


def test_device_ids_are_pseudonyms(tmp_path: Path) -> None:
    url, _ = ingest(tmp_path)
    with open_store(url) as store:
        devices = store.list_devices(limit=100)
    assert len(devices) == len(ADDRESSES)
    assert all(PSEUDONYM.match(device.id) for device in devices)
    assert {device.ip for device in devices} == {None}


def test_internal_class_from_real_address(tmp_path: Path) -> None:
    url, _ = ingest(tmp_path)
    pseudonymiser = Pseudonymiser(KEY.encode())
    with open_store(url) as store:
        camera = store.device(pseudonymiser.pseudonym(DEVICES[0]))
        cloud = store.device(pseudonymiser.pseudonym(CLOUD[0]))
    assert camera.internal is True
    assert cloud.internal is False


def test_mapping_in_separate_private_file(tmp_path: Path) -> None:
    ingest(tmp_path)
    vault = tmp_path / "store.pseudonyms.db"
    texts = store_texts(vault)
    assert vault.stat().st_mode & 0o777 == 0o600
    assert sorted(set(texts) & set(ADDRESSES)) == sorted(ADDRESSES)


def test_reingest_changes_nothing(tmp_path: Path) -> None:
    url, _ = ingest(tmp_path)
    with open_store(url) as store:
        before = store.counts()
    ingest(tmp_path)
    with open_store(url) as store:
        after = store.counts()
    assert after == before


def test_other_key_rejected(tmp_path: Path) -> None:
    url, _ = ingest(tmp_path)
    with open_store(url) as store:
        before = store.counts()
    _, result = ingest(tmp_path, key=OTHER_KEY)
    with open_store(url) as store:
        after = store.counts()
    assert result.exit_code == 2
    assert "was pseudonymised with another key" in result.output
    assert after == before


def test_plain_ingest_into_pseudonymised_rejected(tmp_path: Path) -> None:
    url, _ = ingest(tmp_path)
    with open_store(url) as store, pytest.raises(StoreConfigError, match="contains pseudonyms"):
        load_files(store, [tmp_path / "conn.log"])


def test_pseudonymised_into_plain_rejected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as store:
        load_files(store, [write_log(tmp_path / "conn.log")], window="5m")
    _, result = ingest(tmp_path)
    assert result.exit_code == 2
    assert "contains real addresses" in result.output


# -- logs ----------------------------------------------------------------------------------


def test_logs_have_no_real_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, result = ingest(tmp_path)
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert f"line {BAD_LINE_NUMBER} skipped: port out of range" in messages
    assert leaked(messages) == []
    assert leaked(result.output) == []


# -- API -----------------------------------------------------------------------------------


def scored_store(tmp_path: Path) -> tuple[str, str, str]:
    """A pseudonymised store with scores and an explanation naming a neighbour; returns (url, infected, camera) ids."""
    url, _ = ingest(tmp_path)
    pseudonymiser = Pseudonymiser(KEY.encode())
    infected, camera = pseudonymiser.pseudonym(INFECTED), pseudonymiser.pseudonym(DEVICES[0])
    with open_store(url) as store:
        window = store.windows()[-1].start
        graph = store.export_window(window)
        explanation = {"neighbours": [{"id": camera, "influence": 0.4}], "edges": [{"src": infected, "dst": camera, "flows": 1}]}
        scores = [
            DeviceScore(device_id, window, 0.9 if device_id == infected else 0.1, "gcn-test", rank=1 if device_id == infected else 2,
                        explanation=explanation if device_id == infected else None)
            for device_id in graph.devices["id"]
        ]  # fmt: skip
        store.write_scores(window, scores, "gcn-test", scored_at=window + 600)
    return url, infected, camera


QUERIES = [
    "{ devices(first: 100) { items { id ip internal label score } } }",
    "{ suspiciousDevices(limit: 50) { deviceId score device { id ip } } }",
    '{ neighborhood(deviceId: "%(infected)s", hops: 2) { nodes { id ip } edges { source target } } }',
    '{ explanation(deviceId: "%(infected)s") { deviceId reasons neighbours { deviceId } edges { source target } } }',
    '{ scoreHistory(deviceId: "%(infected)s") { deviceId score } }',
    '{ device(id: "%(camera)s") { id ip internal } }',
]


def test_api_responses_have_no_real_address(tmp_path: Path) -> None:
    url, infected, camera = scored_store(tmp_path)
    with running_api(tmp_path / "api", store_url=url) as api:
        bodies = [api.post(query % {"infected": infected, "camera": camera}, role="admin").text for query in QUERIES]
    assert all('"errors"' not in body for body in bodies), bodies
    assert [leaked(body) for body in bodies] == [[]] * len(QUERIES)


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_resolve_needs_admin(tmp_path: Path, role: str) -> None:
    url, infected, _ = scored_store(tmp_path)
    with running_api(tmp_path / "api", store_url=url) as api:
        response = api.post(f'mutation {{ resolvePseudonym(id: "{infected}") }}', role=role)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert leaked(response.text) == []


def test_admin_resolves_and_is_audited(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url, infected, _ = scored_store(tmp_path)
    with running_api(tmp_path / "api", store_url=url) as api:
        response = api.post(f'mutation {{ resolvePseudonym(id: "{infected}") }}', role="admin")
        unknown = api.post('mutation { resolvePseudonym(id: "dev-0000000000000000") }', role="admin")
        audit_path = api.settings.audit_path
    records = list(AuditLog(audit_path).read())
    admin_id = api.tokens["admin"].split("_")[1]
    assert response.json() == {"data": {"resolvePseudonym": INFECTED}}
    assert unknown.json() == {"data": {"resolvePseudonym": None}}
    assert [(r.key_id, r.role, r.operation, r.devices) for r in records][0] == (admin_id, "admin", "resolvePseudonym", [infected])
    assert leaked(audit_path.read_text()) == []
    assert leaked("\n".join(record.getMessage() for record in caplog.records)) == []


def test_cli_resolve_audited(tmp_path: Path) -> None:
    url, infected, _ = scored_store(tmp_path)
    audit = tmp_path / "cli-audit.jsonl"
    result = CliRunner().invoke(cli, ["pseudonym", "resolve", infected, "--store", url, "--audit-file", str(audit)])
    (record,) = AuditLog(audit).read()
    assert result.stdout.strip() == INFECTED
    assert (record.role, record.operation, record.devices, record.outcome) == ("admin", "pseudonym resolve", [infected], "ok")
    assert record.key_id.startswith("cli:")


def test_cli_resolve_unknown(tmp_path: Path) -> None:
    url, _, _ = scored_store(tmp_path)
    result = CliRunner().invoke(cli, ["pseudonym", "resolve", "dev-0000000000000000", "--store", url, "--audit-file", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 1


# -- payload minimisation -----------------------------------------------------------------


PAYLOAD = ["/login?user=alice", "Mozilla/5.0", "secret.example.com"]
PAYLOAD_LOG = (
    '{"ts":1700000000.7,"uid":"CJn7","id.orig_h":"172.16.5.11","id.resp_h":"8.8.8.8","id.resp_p":80,'
    '"uri":"/login?user=alice","user_agent":"Mozilla/5.0","query":"secret.example.com","host":"secret.example.com"}\n'
)


@pytest.mark.parametrize("keep_payload", [False, True], ids=["default", "keep-payload"])
def test_payload_never_stored(tmp_path: Path, keep_payload: bool) -> None:
    log = tmp_path / "http.json"
    log.write_text(PAYLOAD_LOG)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(cli, ["ingest", "--store", url, str(log), *(["--keep-payload"] if keep_payload else [])])
    raw = (tmp_path / "store.db").read_bytes()
    wal = tmp_path / "store.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert result.exit_code == 0, result.output
    assert [text for text in PAYLOAD if text.encode() in raw] == []
