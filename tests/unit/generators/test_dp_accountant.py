"""The zCDP accountant: conversions, and a budget that is never overspent."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov.errors import ParameterError, PrivacyBudgetError
from synthgov.generators._accountant import ZCDPAccountant, delta_for, epsilon_for, rho_for


def test_ten_thousand_random_budget_sequences_never_overspend():
    """10,000 random budgets, each hit by a random sequence of spends (many too large): 0 overspends.

    Every refused spend must be one that would have exceeded the budget (checked exactly with
    fractions), every accepted one must fit, and the reported epsilon never exceeds the target.
    """
    rng = np.random.default_rng(2026)
    overspends = wrong_refusals = 0
    for i in range(10_000):
        eps = float(rng.choice([0.05, 0.3, 1.0, 3.0, 8.0]) * rng.uniform(0.5, 2.0))
        delta = float(10.0 ** -rng.uniform(3, 10))
        if i % 50 == 0:  # the conversion is slow-ish: every 50th budget comes from (epsilon, delta)
            acct = ZCDPAccountant.from_epsilon_delta(eps, delta, approx_share=float(rng.choice([0.0, 0.25])))
        else:
            acct = ZCDPAccountant(float(rng.uniform(1e-4, 2.0)), delta * float(rng.choice([0.0, 0.25])),
                                  epsilon=eps, target_delta=delta)
        for share in rng.exponential(0.25, size=int(rng.integers(1, 25))):
            cost = acct.rho * Fraction(float(share))
            d = acct.delta * Fraction(float(rng.uniform(0, 0.6))) if rng.random() < 0.3 else Fraction(0)
            before = (acct.spent_rho, acct.spent_delta)
            try:
                acct.spend(cost, delta=d, mechanism="test")
            except PrivacyBudgetError:
                fits = before[0] + cost <= acct.rho and before[1] + d <= acct.delta
                wrong_refusals += fits and cost == Fraction(math.ceil(cost * 2**48), 2**48)
                assert (acct.spent_rho, acct.spent_delta) == before  # a refused step spends nothing
            overspends += acct.spent_rho > acct.rho or acct.spent_delta > acct.delta
        if i % 50 == 0:
            assert acct.guarantee()[0] <= eps
    assert overspends == 0
    assert wrong_refusals == 0


@settings(max_examples=60, deadline=None)
@given(eps=st.floats(0.01, 20.0), log_delta=st.floats(-12, -2))
def test_conversion_round_trip_is_conservative(eps, log_delta):
    delta = 10.0**log_delta
    rho = rho_for(eps, delta)
    assert rho > 0
    assert delta_for(rho, eps) <= delta
    assert epsilon_for(rho, delta) <= eps * (1 + 1e-9)
    # never looser than the simple bound eps = rho + 2 sqrt(rho log 1/delta) (Bun & Steinke 2016)
    assert epsilon_for(rho, delta) <= rho + 2 * math.sqrt(rho * math.log(1 / delta)) + 1e-9


def test_a_spend_that_does_not_fit_says_what_is_left():
    acct = ZCDPAccountant(Fraction(1, 10))
    acct.spend(Fraction(1, 20), mechanism="discrete Gaussian", purpose="counts")
    with pytest.raises(PrivacyBudgetError, match="would be exceeded.*'structure'.*left") as info:
        acct.spend(Fraction(1, 10), mechanism="exponential mechanism", purpose="structure")
    assert info.value.code == "SG-PRIVACY-BUDGET"
    assert len(acct.steps) == 1 and acct.steps[0]["purpose"] == "counts"


@pytest.mark.parametrize("rho", [0, -1, float("nan"), float("inf")])
def test_a_budget_must_be_positive_and_finite(rho):
    with pytest.raises(ParameterError):
        ZCDPAccountant(rho)
