"""The Python example of docs/dgl.md, run on the real capture 34-1 and checked against its comments."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from graphdb import open_store
from graphdb.load import load_files
from tests.conftest import dataset_path
from tests.dgl.support import requires_dgl

pytestmark = [pytest.mark.dgl, requires_dgl]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dgl.md"
CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# A print line followed by the output it documents: print(...)   # output
DOCUMENTED_OUTPUT = re.compile(r"^print\(.*\)\s+# (.*)$", re.MULTILINE)


def test_export_example_output(tmp_path, monkeypatch):
    capture = dataset_path(CAPTURE_34_1)
    [example] = PYTHON_BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    with open_store(f"sqlite:///{tmp_path / 'iotgraph.db'}") as store:
        load_files(store, [capture], window="1h")

    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(DOCS), "exec"), {})

    expected = DOCUMENTED_OUTPUT.findall(example)
    assert len(expected) == 4
    assert printed.getvalue().splitlines() == expected
