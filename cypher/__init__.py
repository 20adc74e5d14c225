"""Every Cypher statement the Neo4j store runs, one purpose per ``.cypher`` file.

A statement file starts with ``//`` comment lines: what it does, then one
``// params: a, b`` line naming every parameter it takes (``// params: none``
when it takes none). ``tools/cypher-check`` lints each file with Neo4j's own
semantic analysis against those parameters, and fails on a file that no code
loads. Files under ``browser/`` are saved queries for Neo4j Browser; the store
never runs them.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_NAME = re.compile(r"^(browser/)?[a-z][a-z0-9_]*$")
_PARAMS_LINE = re.compile(r"^//\s*params:\s*(.*)$")
_SUFFIX = ".cypher"


def _folder(subfolder: str | None = None) -> resources.abc.Traversable:
    root = resources.files(__name__)
    return root / subfolder if subfolder else root


@functools.cache
def load(name: str) -> str:
    """Return the text of ``cypher/<name>.cypher``; ``name`` may start with ``browser/``.

    Raises KeyError naming the file when it does not exist, so a typo fails
    at the first call instead of sending an empty statement to Neo4j.
    """
    if not _NAME.match(name):
        raise KeyError(f"invalid Cypher statement name {name!r}: expected lower_snake_case, optionally under browser/")
    path = _folder() / f"{name}{_SUFFIX}"
    if not path.is_file():
        raise KeyError(f"Cypher statement {name!r} not found: expected the file cypher/{name}{_SUFFIX}")
    return path.read_text(encoding="utf-8")


def names() -> list[str]:
    """Return the names of the store's statements (not the Browser queries), sorted."""
    return sorted(entry.name[: -len(_SUFFIX)] for entry in _folder().iterdir() if entry.name.endswith(_SUFFIX))


def browser_names() -> list[str]:
    """Return the names of the saved Neo4j Browser queries as ``browser/<name>``, sorted."""
    folder = _folder("browser")
    return sorted(f"browser/{entry.name[: -len(_SUFFIX)]}" for entry in folder.iterdir() if entry.name.endswith(_SUFFIX))


def declared_params(name: str) -> list[str]:
    """Return the parameter names the ``// params:`` header line of a statement declares.

    Raises KeyError when the file has no such line.
    """
    for line in load(name).splitlines():
        match = _PARAMS_LINE.match(line.strip())
        if match:
            text = match.group(1).strip()
            if text == "none":
                return []
            return [part.strip() for part in text.split(",") if part.strip()]
    raise KeyError(f"cypher/{name}{_SUFFIX} has no '// params:' header line; add one (or '// params: none')")


def split_statements(text: str) -> list[str]:
    """Split a file holding several statements at each ``;`` that ends a line.

    Only schema files hold several statements, and none of their string
    literals contains a semicolon, so no Cypher parser is needed here.
    """
    parts = re.split(r";\s*$", text, flags=re.MULTILINE)
    statements = []
    for part in parts:
        body = "\n".join(line for line in part.splitlines() if not line.strip().startswith("//")).strip()
        if body:
            statements.append(body)
    return statements


__all__ = ["browser_names", "declared_params", "load", "names", "split_statements"]
