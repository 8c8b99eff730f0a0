"""Root fixtures, for the doctests in src/ as much as for tests/: every item gets its own workspace."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    """Nothing is written outside tmp: SYNTHGOV_HOME (keys, catalog, outputs) points into the item's tmp_path."""
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "ws"))
