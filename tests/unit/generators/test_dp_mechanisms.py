"""Statistical differential-privacy tests of each mechanism in synthgov.generators._dp.

Each test runs a mechanism many times on two neighbouring inputs and looks for an event S
(every point and every tail of the output range; for selection, every candidate) with
P[M(D) in S] > e^eps P[M(D') in S] + delta, using Clopper-Pearson bounds (Bonferroni over the
events, alpha = 1e-4 in all). A run "violates" when the lower bound for one side beats e^eps times
the upper bound for the other, plus delta. Three independent runs at fixed seeds vote.

The real mechanisms must win the vote; two planted bugs must lose it: half the noise scale (or
twice epsilon for selection), and noise calibrated for a sensitivity while neighbours differ by
1.5 times that. Sample sizes were chosen from the exact distributions so the margins are wide
(e.g. for the discrete Gaussian the true worst excess over delta is -0.008 for the real one and
+0.05 / +0.09 for the bugs; Clopper-Pearson half-widths at 2e5 draws are below 0.003).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import beta

from synthgov.generators._accountant import epsilon_for
from synthgov.generators._dp import (
    discrete_gaussian,
    discrete_laplace,
    exponential_mechanism,
    gaussian_sigma2,
    rational_epsilon,
    sparse_histogram,
    sparse_threshold,
)

ALPHA = 1e-4
SEEDS = (11, 22, 33)


def _cp_lower(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    return np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)


def _cp_upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    return np.where(k < n, beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)


def _event_counts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of a and b in every point event and every lower / upper tail over the values seen."""
    values = np.unique(np.concatenate([a, b]))
    a, b = np.sort(a), np.sort(b)

    def counts(x):
        le = np.searchsorted(x, values, side="right")
        lt = np.searchsorted(x, values, side="left")
        return np.concatenate([le - lt, le, len(x) - lt])

    return counts(a), counts(b)


def violates(a: np.ndarray, b: np.ndarray, epsilon: float, delta: float) -> bool:
    """Significant evidence, for some event, that (epsilon, delta)-DP fails between samples a and b."""
    ka, kb = _event_counts(a, b)
    return _check(ka, kb, len(a), len(b), epsilon, delta)


def _check(ka, kb, na, nb, epsilon, delta) -> bool:
    alpha = ALPHA / (2 * len(ka))
    e = math.exp(epsilon)
    for x, y, nx, ny in ((ka, kb, na, nb), (kb, ka, nb, na)):
        if np.any(_cp_lower(x, nx, alpha) > e * _cp_upper(y, ny, alpha) + delta):
            return True
    return False


def vote(run) -> bool:
    """True when most runs (seeded) find a violation."""
    return sum(bool(run(np.random.default_rng(seed))) for seed in SEEDS) >= 2


# -- discrete Gaussian (counts): rho-zCDP, tested as the (epsilon, delta)-DP it converts to ------------
RHO, DELTA, N_DG = Fraction(1, 2), 1e-2, 200_000
EPS_DG = epsilon_for(float(RHO), DELTA)


def _gaussian_run(sensitivity: int, shift: int, variance_factor: Fraction):
    sigma2 = gaussian_sigma2(RHO, sensitivity) * variance_factor

    def run(rng):
        a = 10 + discrete_gaussian(rng, sigma2, N_DG)
        b = 10 + shift + discrete_gaussian(rng, sigma2, N_DG)
        return violates(a, b, EPS_DG, DELTA)
    return run


def test_discrete_gaussian_passes_its_dp_test():
    assert not vote(_gaussian_run(2, 2, Fraction(1)))


def test_discrete_gaussian_test_catches_half_the_noise_scale():
    assert vote(_gaussian_run(2, 2, Fraction(1, 4)))  # sigma halved = variance / 4


def test_discrete_gaussian_test_catches_one_and_a_half_times_the_sensitivity():
    assert vote(_gaussian_run(2, 3, Fraction(1)))


# -- discrete Laplace: epsilon-DP with scale sensitivity / epsilon -----------------------------------
EPS_L, N_L = 1.0, 100_000


def _laplace_run(sensitivity: int, shift: int, scale_factor: Fraction):
    scale = Fraction(sensitivity) / Fraction(EPS_L) * scale_factor  # t / s

    def run(rng):
        a = discrete_laplace(rng, scale.denominator, scale.numerator, N_L)
        b = shift + discrete_laplace(rng, scale.denominator, scale.numerator, N_L)
        return violates(a, b, EPS_L, 0.0)
    return run


def test_discrete_laplace_passes_its_dp_test():
    assert not vote(_laplace_run(2, 2, Fraction(1)))


def test_discrete_laplace_test_catches_half_the_noise_scale():
    assert vote(_laplace_run(2, 2, Fraction(1, 2)))


def test_discrete_laplace_test_catches_one_and_a_half_times_the_sensitivity():
    assert vote(_laplace_run(2, 3, Fraction(1)))


# -- exponential mechanism: epsilon-DP for scores of the stated sensitivity ---------------------------
# Worst case for one candidate: its score rises by the sensitivity and all 49 others fall by it; the
# probability ratio is then 2.63 (limit e^eps = 2.72 with infinitely many candidates).
EPS_EM, N_EM, M_EM = Fraction(1), 200_000, 50


def _em_run(sensitivity: int, moved: Fraction, eps_factor: int):
    base = np.zeros(M_EM)
    neighbour = np.full(M_EM, -float(moved))
    neighbour[0] = float(moved)
    eps = rational_epsilon(EPS_EM * eps_factor)

    def run(rng):
        a = exponential_mechanism(rng, base, eps, sensitivity, size=N_EM)
        b = exponential_mechanism(rng, neighbour, eps, sensitivity, size=N_EM)
        ka = np.bincount(a, minlength=M_EM)
        kb = np.bincount(b, minlength=M_EM)
        return _check(ka, kb, N_EM, N_EM, float(EPS_EM), 0.0)
    return run


def test_exponential_mechanism_passes_its_dp_test():
    assert not vote(_em_run(2, Fraction(2), 1))


def test_exponential_mechanism_test_catches_half_the_noise():
    assert vote(_em_run(2, Fraction(2), 2))  # twice epsilon in the exponent = half the noise


def test_exponential_mechanism_test_catches_one_and_a_half_times_the_sensitivity():
    assert vote(_em_run(2, Fraction(3), 1))


def test_exponential_mechanism_draws_follow_the_exponential_weights():
    """Chi-square goodness of fit of 40,000 draws against exp(eps q / (2 sensitivity')) (exact up to the grid)."""
    from scipy.stats import chisquare

    scores = np.array([0.0, 1.0, 2.5, 4.0, 4.0])
    eps = Fraction(1)
    draws = exponential_mechanism(np.random.default_rng(5), scores, eps, 1, size=40_000)
    sens = 1 + 1 / 64
    w = np.exp(float(eps) * np.floor(scores * 64) / 64 / (2 * sens))
    result = chisquare(np.bincount(draws, minlength=5), 40_000 * w / w.sum())
    assert result.pvalue > 1e-3


# -- Gaussian sparse histogram: a key held by one row is released with probability <= delta ----------
def _sparse_run(delta: float, threshold_sigma_factor: Fraction):
    rho = Fraction(1, 2)

    def run(rng):
        # D holds the key once; D' lacks it (never released). The bug calibrates tau for a smaller sigma.
        if threshold_sigma_factor == 1:
            kept, _ = sparse_histogram(rng, np.ones(N_L, dtype=np.int64), rho, delta)
        else:
            sigma2 = gaussian_sigma2(rho)
            tau = sparse_threshold(sigma2 * threshold_sigma_factor, delta)
            kept = 1 + discrete_gaussian(rng, sigma2, N_L) >= tau
        released = np.array([kept.sum()])
        return _check(released, np.array([0]), N_L, N_L, 0.0, delta)
    return run


def test_sparse_histogram_releases_a_single_row_key_at_most_delta_often():
    assert not vote(_sparse_run(0.02, Fraction(1)))


def test_sparse_histogram_test_catches_a_threshold_for_half_the_noise():
    assert vote(_sparse_run(0.02, Fraction(1, 4)))


# -- the samplers' distributions ------------------------------------------------------------------
@pytest.mark.parametrize("sigma2", [Fraction(1, 3), Fraction(9, 4), Fraction(400)])
def test_discrete_gaussian_matches_its_exact_pmf(sigma2):
    from scipy.stats import chisquare

    y = discrete_gaussian(np.random.default_rng(1), sigma2, 60_000)
    support = np.arange(-int(6 * math.sqrt(sigma2)) - 2, int(6 * math.sqrt(sigma2)) + 3)
    pmf = np.exp(-support.astype(float) ** 2 / (2 * float(sigma2)))
    pmf /= pmf.sum()
    observed = np.array([(y == v).sum() for v in support])
    expected = 60_000 * pmf
    keep = expected >= 5  # chi-square needs expected counts of at least 5
    observed = np.append(observed[keep], 60_000 - observed[keep].sum())
    expected = np.append(expected[keep], 60_000 - expected[keep].sum())
    assert chisquare(observed, expected).pvalue > 1e-3


def test_huge_variances_stay_exact_integers():
    y = discrete_gaussian(np.random.default_rng(2), Fraction(10**40), 500)
    assert y.dtype == object and all(isinstance(v, int) for v in y)
    sd = math.sqrt(float(np.var(np.array([float(v) for v in y]))))
    assert 0.85e20 < sd < 1.15e20  # 500 draws: the sd estimate is within 15 % with overwhelming probability
