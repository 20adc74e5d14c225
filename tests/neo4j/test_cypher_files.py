"""The cypher package: every statement has a file with a header, every file is used, no Cypher is built in Python."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import cypher

REPO = Path(__file__).resolve().parents[2]
GRAPHDB = REPO / "graphdb"
CYPHER_KEYWORDS = re.compile(r"\b(MATCH|MERGE|UNWIND|RETURN|DETACH|CREATE (INDEX|CONSTRAINT)|SET \w+\.)\b")


def load_calls(path: Path) -> list[str]:
    """Return the literal names of every cypher.load("...") call in a Python file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "cypher"
        ):
            argument = node.args[0]
            assert isinstance(argument, ast.Constant), f"{path.name}:{node.lineno}: cypher.load() needs a literal name"
            names.append(argument.value)
    return names


def docstring_nodes(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_load_returns_text() -> None:
    assert cypher.load("ping").rstrip().endswith("RETURN 1 AS ok")


def test_load_missing_name() -> None:
    with pytest.raises(KeyError, match="cypher/no_such_statement.cypher"):
        cypher.load("no_such_statement")


def test_load_rejects_path() -> None:
    with pytest.raises(KeyError, match="invalid Cypher statement name"):
        cypher.load("../graphdb/store")


def test_load_browser_query() -> None:
    assert ":param" in cypher.load("browser/most_suspicious")


@pytest.mark.parametrize("name", cypher.names() + cypher.browser_names())
def test_file_has_purpose_and_params(name: str) -> None:
    first = cypher.load(name).splitlines()[0]
    assert first.startswith("// ")
    assert isinstance(cypher.declared_params(name), list)


def test_every_loaded_name_has_file() -> None:
    loaded = {name for path in GRAPHDB.glob("*.py") for name in load_calls(path)}
    assert loaded - set(cypher.names()) == set()


def test_every_file_is_loaded() -> None:
    loaded = {name for path in GRAPHDB.glob("*.py") for name in load_calls(path)}
    assert set(cypher.names()) - loaded == set()


@pytest.mark.parametrize("path", sorted(GRAPHDB.glob("neo4j*.py")) + [GRAPHDB / "migrate.py"], ids=lambda p: p.name)
def test_no_cypher_in_python(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = docstring_nodes(tree)
    found = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and CYPHER_KEYWORDS.search(node.value)
    ]
    assert found == []


@pytest.mark.parametrize("path", sorted(GRAPHDB.glob("neo4j*.py")), ids=lambda p: p.name)
def test_no_string_built_statement(path: Path) -> None:
    """Every tx.run / session.run gets a loaded statement or a variable holding one, never an expression built in place."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("run", "execute_query"):
            statement = node.args[0]
            is_load = isinstance(statement, ast.Call) and isinstance(statement.func, ast.Attribute) and statement.func.attr == "load"
            if not (is_load or isinstance(statement, ast.Name)):
                built.append(node.lineno)
    assert built == []


def test_split_statements_schema() -> None:
    statements = cypher.split_statements(cypher.load("schema"))
    assert len(statements) == 11
    assert all(statement.startswith("CREATE ") for statement in statements)
    assert all("IF NOT EXISTS" in statement for statement in statements)


def test_schema_has_required_constraints() -> None:
    text = cypher.load("schema")
    for required in (
        "FOR (d:Device) REQUIRE d.id IS UNIQUE",
        "FOR (w:Window) REQUIRE w.start IS UNIQUE",
        "FOR (j:Job) REQUIRE j.id IS UNIQUE",
        "FOR ()-[r:COMMUNICATED]-() ON (r.window_start)",
        "FOR (d:Device) ON (d.anomaly_score)",
    ):
        assert required in text


@pytest.mark.parametrize("name", cypher.browser_names())
def test_browser_query_says_what_to_set(name: str) -> None:
    header = [line for line in cypher.load(name).splitlines() if line.startswith("//")]
    for param in cypher.declared_params(name):
        assert any(f":param {param}" in line for line in header), f"{name} does not show how to set ${param}"


def test_grass_styles_risk_labels() -> None:
    grass = (REPO / "cypher" / "browser" / "iotgraph.grass").read_text(encoding="utf-8")
    selectors = re.findall(r"^([a-z][\w.]*)\s*\{", grass, flags=re.MULTILINE)
    assert selectors == ["node", "relationship", "node.Device", "node.MediumRisk", "node.HighRisk", "node.Window", "relationship.COMMUNICATED", "relationship.SCORED"]
    assert "caption: '{bytes}'" in grass
