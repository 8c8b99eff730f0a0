"""Root fixtures, for the doctests in src/ as much as for tests/: nothing is written outside tmp.

SYNTHGOV_HOME (keys, catalog, outputs) points into a temporary directory: one per module for
module-scoped fixtures (autouse fixtures run first within their scope), then one per test.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _module_workspace(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHGOV_HOME", str(tmp_path_factory.mktemp("module-ws")))
        yield


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "ws"))
