"""Parsing of Neo4j store URLs and NEO4J_* settings."""

from __future__ import annotations

import pytest

from graphdb import open_store
from graphdb.errors import StoreConfigError
from graphdb.neo4j_config import parse_neo4j_url

ENV = {"NEO4J_PASSWORD": "s3cret-password"}


def test_url_defaults() -> None:
    config = parse_neo4j_url("neo4j://db.internal", environ=ENV)
    assert config.uri == "neo4j://db.internal:7687"
    assert config.user == "neo4j"
    assert config.database == "neo4j"
    assert config.batch_size == 10_000


def test_url_from_environment() -> None:
    environ = {**ENV, "NEO4J_USER": "iot", "NEO4J_DATABASE": "flows"}
    config = parse_neo4j_url("bolt://127.0.0.1:7688", environ=environ)
    assert (config.uri, config.user, config.database) == ("bolt://127.0.0.1:7688", "iot", "flows")


@pytest.mark.parametrize("scheme", ["neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"])
def test_url_schemes(scheme: str) -> None:
    assert parse_neo4j_url(f"{scheme}://127.0.0.1:7687", environ=ENV).uri == f"{scheme}://127.0.0.1:7687"


def test_url_credentials_win() -> None:
    config = parse_neo4j_url("neo4j://analyst:p%40ss@127.0.0.1", environ={**ENV, "NEO4J_USER": "other"})
    assert (config.user, config.password) == ("analyst", "p@ss")


def test_url_options() -> None:
    config = parse_neo4j_url("neo4j://127.0.0.1?database=lab&batch_size=500&high_risk=0.9&medium_risk=0.6", environ=ENV)
    assert (config.database, config.batch_size, config.high_risk, config.medium_risk) == ("lab", 500, 0.9, 0.6)


def test_url_ipv6_host() -> None:
    assert parse_neo4j_url("bolt://[::1]:7687", environ=ENV).uri == "bolt://[::1]:7687"


def test_display_url_hides_password() -> None:
    config = parse_neo4j_url("neo4j://analyst:hunter2-long@127.0.0.1", environ={})
    assert "hunter2" not in config.display_url
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:7474", "scheme must be one of"),
        ("neo4j://", "no host"),
        ("neo4j://127.0.0.1/flows", "unexpected path"),
        ("neo4j://127.0.0.1:notaport", "invalid Neo4j URL"),
        ("neo4j://127.0.0.1?db=flows", "unknown option 'db'"),
        ("neo4j://127.0.0.1?batch_size=0", "at least 1"),
        ("neo4j://127.0.0.1?batch_size=many", "whole number"),
        ("neo4j://127.0.0.1?high_risk=nan", "finite"),
        ("neo4j://127.0.0.1?high_risk=0.3&medium_risk=0.6", "swap them"),
    ],
)
def test_url_rejected(url: str, message: str) -> None:
    with pytest.raises(StoreConfigError, match=message):
        parse_neo4j_url(url, environ=ENV)


def test_missing_password() -> None:
    with pytest.raises(StoreConfigError, match="set NEO4J_PASSWORD"):
        parse_neo4j_url("neo4j://127.0.0.1", environ={})


def test_error_hides_password() -> None:
    with pytest.raises(StoreConfigError) as raised:
        parse_neo4j_url("neo4j://analyst:hunter2-long@127.0.0.1?db=x", environ={})
    assert "hunter2" not in str(raised.value)


def test_open_store_bad_neo4j_url() -> None:
    with pytest.raises(StoreConfigError, match="unknown option"):
        open_store("bolt://127.0.0.1:7687?colour=red")
