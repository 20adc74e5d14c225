"""docker-compose.yml, Dockerfile and .env.example: three services, local-only ports, a Neo4j health check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graphdb.errors import StoreConfigError
from graphdb.neo4j_config import PLACEHOLDER_PASSWORD, parse_neo4j_url

yaml = pytest.importorskip("yaml", reason="the compose tests parse YAML with PyYAML (pip install -e '.[dev]')")

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The file as `docker-compose config` validates and resolves it with .env.example; needs no engine."""
    if shutil.which("docker-compose") is None:
        pytest.skip("needs the docker-compose command (apt-get install -y docker-compose); not found on PATH")
    result = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path_factory.mktemp("compose"),
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_services(compose: dict[str, Any]) -> None:
    assert sorted(compose["services"]) == ["api", "neo4j", "worker"]


def test_compose_neo4j_image(compose: dict[str, Any]) -> None:
    assert compose["services"]["neo4j"]["image"] == "neo4j:5-community"


def test_compose_neo4j_healthcheck(compose: dict[str, Any]) -> None:
    check = compose["services"]["neo4j"]["healthcheck"]["test"]
    assert "http://localhost:7474" in " ".join(check)


@pytest.mark.parametrize("service", ["api", "worker"])
def test_compose_waits_for_healthy(compose: dict[str, Any], service: str) -> None:
    assert compose["services"][service]["depends_on"]["neo4j"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["api", "worker"])
def test_compose_store_url(compose: dict[str, Any], service: str) -> None:
    assert compose["services"][service]["environment"]["IOTGRAPH_STORE"] == "neo4j://neo4j:7687"


def test_compose_commands(compose: dict[str, Any]) -> None:
    assert compose["services"]["api"]["command"] == ["iotgraph", "serve", "--host", "0.0.0.0"]
    assert compose["services"]["worker"]["command"] == ["iotgraph", "worker"]


def test_compose_named_volumes(compose: dict[str, Any]) -> None:
    assert compose["services"]["neo4j"]["volumes"] == ["neo4j-data:/data", "neo4j-logs:/logs"]


def test_compose_auth_from_env(compose: dict[str, Any]) -> None:
    auth = compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    assert auth.startswith("${NEO4J_USER:-neo4j}/${NEO4J_PASSWORD:?")


def test_resolved_ports_local_only(resolved: dict[str, Any]) -> None:
    ports = [port for service in resolved["services"].values() for port in service.get("ports", [])]
    assert len(ports) == 3
    assert all(str(port).startswith("127.0.0.1:") for port in ports)


def test_resolved_neo4j_memory(resolved: dict[str, Any]) -> None:
    environment = resolved["services"]["neo4j"]["environment"]
    assert environment["NEO4J_server_memory_heap_max__size"] == "1G"
    assert environment["NEO4J_server_memory_pagecache_size"] == "1G"


def test_env_example_placeholder_rejected() -> None:
    values = env_example()
    assert values["NEO4J_PASSWORD"] == PLACEHOLDER_PASSWORD
    with pytest.raises(StoreConfigError, match="placeholder"):
        parse_neo4j_url("neo4j://127.0.0.1:7687", environ=values)


def test_dockerfile_base_and_command() -> None:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert "FROM python:3.11-slim" in lines
    assert 'CMD ["iotgraph", "serve", "--host", "0.0.0.0"]' in lines
