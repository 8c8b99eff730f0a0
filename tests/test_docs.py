"""Docs tests: every ```python block and every `$ ` command line in README.md and docs/*.md runs.

Each document runs in a fresh directory and a fresh interpreter: its Python blocks in order as one
script, then its console commands in order. A block that raises, or a command that exits non-zero,
fails the test with the output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path, lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(path.read_text(encoding="utf-8")) if kind == lang]


def test_docs_have_examples():
    assert blocks(ROOT / "README.md", "python") and blocks(ROOT / "docs" / "guide.md", "python")
    assert any(line.startswith("$ synthgov") for b in blocks(ROOT / "README.md", "console") for line in b.splitlines())


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_examples_run(doc, tmp_path):
    env = {**os.environ, "SYNTHGOV_HOME": str(tmp_path / "ws"), "COLUMNS": "200"}
    script = "\n\n".join(blocks(doc, "python"))
    if script:
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{doc.name} python examples failed:\n{done.stdout}\n{done.stderr}"
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    for body in blocks(doc, "console"):
        for line in body.splitlines():
            if not line.startswith("$ "):
                continue
            done = subprocess.run(line[2:], shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{doc.name}: `{line[2:]}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
