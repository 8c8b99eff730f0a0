"""Shared fixtures for the provenance tests: a fitted copula on real CPS rows, a report, a signed release."""

from __future__ import annotations

import datetime as dt

import pytest

import synthgov as sg
from synthgov.provenance import SigningKey, package

CREATED = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def real(cps_small):
    """300 real CPS1988 rows the generator is fitted on."""
    return cps_small.iloc[:300].reset_index(drop=True)


@pytest.fixture(scope="module")
def holdout(cps_small):
    return cps_small.iloc[300:450].reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(real):
    return sg.CopulaSynthesizer(random_state=0).fit(real)


@pytest.fixture(scope="module")
def synth(fitted):
    return fitted.sample(300, random_state=1)


@pytest.fixture(scope="module")
def report(real, synth, holdout, fitted):
    """A real evaluation with one metric held to a threshold it fails (to feed dataLimitations)."""
    from synthgov.evaluate import evaluate

    return evaluate(real, synth, holdout=holdout, metrics=["ks_complement", "tv_complement", "exact_copies"],
                    thresholds={"ks_complement": 0.9999}, synthesizer=fitted)


@pytest.fixture(scope="module")
def signer():
    return SigningKey.generate("test")


@pytest.fixture(scope="module")
def release(tmp_path_factory, synth, real, fitted, report, signer):
    """A full release with a report, packaged once per module (tests must not modify it)."""
    out = tmp_path_factory.mktemp("rel") / "release"
    return package(synth, out, source=real, synthesizer=fitted, report=report,
                   purpose="Teach regression on wage data.", creator="Ann Lee <ann@example.org>",
                   assumptions=["Wages are weekly, in 1988 dollars."], intended_uses=["teaching", "software testing"],
                   prohibited_uses=["re-identification", "decisions about individuals"], license="CC-BY-NC-4.0",
                   key=signer, audience="students of econometrics", release_id="test-release-1", created=CREATED)
