"""Unit-test fixtures: an isolated working directory and wide CLI consoles for every test."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgov import cli
from synthgov.datasets import load_cps1988


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHGOV_HOME", str(tmp_path / "home"))
    # wide consoles, so rich neither wraps nor folds paths in tables (COLUMNS alone is
    # ignored when it was already set at import time)
    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "_width", 250)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def cps_small() -> pd.DataFrame:
    """2,000 CPS1988 rows drawn across the file (it is sorted by region)."""
    return load_cps1988().sample(2000, random_state=0).reset_index(drop=True)
