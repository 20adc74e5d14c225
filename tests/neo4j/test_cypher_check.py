"""tools/cypher-check: Neo4j's semantic analysis must fail on broken Cypher and pass on ours."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "cypher-check"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason=f"cypher-check needs Node.js and npm on PATH; found node={shutil.which('node')}, npm={shutil.which('npm')}",
)

# Each file breaks one rule; the value is a fragment its finding must contain.
BROKEN = {
    "misspelled_label": ("// params: id\nMATCH (d:Devise {id: $id}) RETURN d.id AS id\n", "Devise"),
    "syntax_error": ("// params: id\nMATCH (d:Device {id: $id} RETURN d\n", "Invalid input"),
    "misspelled_set": ("// params: id\nMATCH (d:Device {id: $id}) SET d.anomaly_scroe = 1.0\n", "anomaly_scroe"),
    "misspelled_type": ("// params: none\nMATCH (:Device)-[r:COMMUNICATES]->(:Device) RETURN count(r) AS n\n", "COMMUNICATES"),
    "undeclared_param": ("// params: none\nMATCH (d:Device {id: $id}) RETURN d.id AS id\n", "Parameter $id is not defined"),
    "unused_param": ("// params: id, limit\nMATCH (d:Device {id: $id}) RETURN d.id AS id\n", "parameter limit is declared"),
    "no_header": ("MATCH (d:Device) RETURN d.id AS id\n", "no '// params:' header"),
    "apoc_call": ("// params: none\nMATCH (d:Device) RETURN apoc.text.join([d.id], ',') AS ids\n", "apoc.text.join"),
    "not_loaded": ("// params: none\nMATCH (d:Device) RETURN count(d) AS n\n", "no cypher.load(\"not_loaded\")"),
}


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(TOOL / "run.sh"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    root = tmp_path_factory.mktemp("broken")
    (root / "cypher").mkdir()
    (root / "graphdb").mkdir()
    for name, (text, _) in BROKEN.items():
        (root / "cypher" / f"{name}.cypher").write_text(text, encoding="utf-8")
    loads = "\n".join(f'cypher.load("{name}")' for name in BROKEN if name != "not_loaded")
    (root / "graphdb" / "store.py").write_text(f'{loads}\ncypher.load("missing_file")\n', encoding="utf-8")
    return run_check(root)


@pytest.fixture(scope="module")
def repo_run() -> subprocess.CompletedProcess[str]:
    return run_check(REPO)


def test_check_passes_on_repo(repo_run: subprocess.CompletedProcess[str]) -> None:
    assert repo_run.returncode == 0, repo_run.stdout + repo_run.stderr


def test_check_fails_on_broken(broken_run: subprocess.CompletedProcess[str]) -> None:
    assert broken_run.returncode == 1


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_names_finding(broken_run: subprocess.CompletedProcess[str], name: str) -> None:
    fragment = BROKEN[name][1]
    lines = [line for line in broken_run.stdout.splitlines() if line.startswith(f"cypher/{name}.cypher:")]
    assert any(fragment in line for line in lines), broken_run.stdout


def test_check_reports_line_and_column(broken_run: subprocess.CompletedProcess[str]) -> None:
    assert "cypher/misspelled_label.cypher:2:10:" in broken_run.stdout


def test_check_missing_file(broken_run: subprocess.CompletedProcess[str]) -> None:
    assert 'graphdb/store.py:9:1: cypher.load("missing_file") names no file' in broken_run.stdout


def test_lockfile_pins_version() -> None:
    import json

    package = json.loads((TOOL / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((TOOL / "package-lock.json").read_text(encoding="utf-8"))
    pinned = package["dependencies"]["@neo4j-cypher/language-support"]
    assert pinned[0].isdigit()
    assert lock["packages"]["node_modules/@neo4j-cypher/language-support"]["version"] == pinned
