"""Multivariate normal machinery for the Gaussian copula.

* :func:`latent_from_intervals` draws normal scores for CDF intervals (randomised
  ranks, so ties and categories do not bias correlations).
* :func:`nearest_correlation` makes an estimate a valid correlation matrix.
* :func:`sample_truncated` samples N(0, R) restricted, row by row, to boxes
  ``lower <= z <= upper`` (points allowed). Dimensions with no bound are drawn
  exactly from the conditional normal; bounded ones by Gibbs sweeps of exact
  univariate truncated-normal draws (inverse-CDF, no rejection), so every row
  satisfies its bounds by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri, owens_t

__all__ = ["latent_from_intervals", "latent_correlation", "hermite_coefficients", "nearest_correlation", "sample_truncated", "EPS", "GIBBS_SWEEPS"]

#: Uniforms are kept in [EPS, 1 - EPS] so normal scores stay finite (|z| < 6).
EPS = 1e-9
GIBBS_SWEEPS = 25


def latent_from_intervals(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of uniforms drawn in [lo, hi]."""
    u = lo + (hi - lo) * rng.random(len(lo))
    return ndtri(np.clip(u, EPS, 1 - EPS))


HERMITE_ORDER = 8
#: Few-level pairs whose series estimate exceeds this are re-solved exactly.
EXACT_FROM = 0.3


def hermite_coefficients(lo: np.ndarray, hi: np.ndarray, order: int = HERMITE_ORDER) -> np.ndarray:
    """c_k = E[g(Z) He_k(Z)], k = 1..order, for g = E[Z | the row's CDF interval].

    A normal score drawn uniformly inside its value's CDF interval (a missing value's interval is
    the whole line) is, given the interval, independent of everything else. So the covariance of
    two such scores is E[g_i g_j] = sum_k rho^k c_ik c_jk / k! (Mehler's expansion), where rho is
    the correlation of the underlying normals. c_1 = E[g^2] is the share of signal the intervals
    keep (1 for a column of distinct values; less for ties, categories and missing values).
    """
    step = max(1, len(lo) // 50_000)  # coefficients are means: 50k evenly spaced rows estimate them well
    lo, hi = lo[::step], hi[::step]
    a, b = ndtri(np.clip(lo, EPS, 1 - EPS)), ndtri(np.clip(hi, EPS, 1 - EPS))
    a = np.where(lo <= 0, -np.inf, a)
    b = np.where(hi >= 1, np.inf, b)
    width = hi - lo
    whole = (lo <= 0) & (hi >= 1)
    point = width <= 1e-12
    safe_w = np.where(point | whole, 1.0, width)
    pa, pb = _phi(a), _phi(b)
    fa, fb = np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(b), b, 0.0)
    g = np.where(point, fa, (pa - pb) / safe_w)
    g = np.where(whole, 0.0, g)
    coeffs = np.empty(order)
    he_prev_a, he_prev_b = np.zeros_like(fa), np.zeros_like(fb)  # He_{-1}
    he_a, he_b = np.ones_like(fa), np.ones_like(fb)  # He_0
    for k in range(1, order + 1):
        # E[He_k(Z) | Z in [a, b]] = (He_{k-1}(a) phi(a) - He_{k-1}(b) phi(b)) / width
        cond = np.where(point, 0.0, (he_a * pa - he_b * pb) / safe_w)
        if k == 1:
            cond = np.where(point, fa, cond)
        coeffs[k - 1] = float(np.mean(g * np.where(whole, 0.0, cond)))
        he_prev_a, he_a = he_a, fa * he_a - (k - 1) * he_prev_a
        he_prev_b, he_b = he_b, fb * he_b - (k - 1) * he_prev_b
    return coeffs


def _phi(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(x), np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi), 0.0)


def bvn_cdf(h, k, rho: float) -> np.ndarray:
    """P(Z1 <= h, Z2 <= k) for standard normals with correlation ``rho`` (Owen's T; h, k may be infinite).

    >>> round(float(bvn_cdf(0.0, 0.0, 0.5)), 6)  # 1/4 + arcsin(0.5) / (2 pi)
    0.333333
    """
    h, k = np.broadcast_arrays(np.asarray(h, dtype="float64"), np.asarray(k, dtype="float64"))
    out = np.zeros(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    out = np.where((h == np.inf) & (k == np.inf), 1.0, out)
    out = np.where((h == np.inf) & np.isfinite(k), ndtr(np.where(np.isfinite(k), k, 0.0)), out)
    out = np.where((k == np.inf) & np.isfinite(h), ndtr(np.where(np.isfinite(h), h, 0.0)), out)
    if fin.any():
        hh, kk = h[fin], k[fin]
        hh = np.where(np.abs(hh) < 1e-10, np.where(hh < 0, -1e-10, 1e-10), hh)  # the formula divides by h, k
        kk = np.where(np.abs(kk) < 1e-10, np.where(kk < 0, -1e-10, 1e-10), kk)
        root = np.sqrt(max(1.0 - rho * rho, 1e-300))
        a_h = (kk - rho * hh) / (hh * root)
        a_k = (hh - rho * kk) / (kk * root)
        beta = np.where(np.sign(hh) == np.sign(kk), 0.0, 0.5)
        out[fin] = 0.5 * (ndtr(hh) + ndtr(kk)) - owens_t(hh, a_h) - owens_t(kk, a_k) - beta
    return np.clip(out, 0.0, 1.0)


def exact_level_correlation(cum1: np.ndarray, cum2: np.ndarray, observed: float, limit: float = 0.995) -> float:
    """The latent correlation of two columns of levels (CDF cut points ``cum1``, ``cum2``) whose jittered
    normal scores correlate at ``observed``: solves E[g1 g2](rho) = observed with bivariate-normal cell
    probabilities (the polychoric correlation, exactly; used where the Hermite series under-reaches)."""
    t1 = np.where(cum1 <= 0, -np.inf, np.where(cum1 >= 1, np.inf, ndtri(np.clip(cum1, EPS, 1 - EPS))))
    t2 = np.where(cum2 <= 0, -np.inf, np.where(cum2 >= 1, np.inf, ndtri(np.clip(cum2, EPS, 1 - EPS))))

    def means(t, cum):
        p = np.diff(cum)
        return np.where(p > 0, (_phi(t[:-1]) - _phi(t[1:])) / np.where(p > 0, p, 1.0), 0.0)

    g1, g2 = means(t1, cum1), means(t2, cum2)
    grid_h, grid_k = np.meshgrid(t1, t2, indexing="ij")

    def expected(rho: float) -> float:
        f = bvn_cdf(grid_h, grid_k, rho)
        cells = f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]
        return float(g1 @ cells @ g2)

    lo, hi = -limit, limit
    e_lo, e_hi = expected(lo), expected(hi)
    if observed <= e_lo:
        return lo
    if observed >= e_hi:
        return hi
    for _ in range(40):
        mid = (lo + hi) / 2
        if expected(mid) < observed:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def latent_correlation(z: np.ndarray, coeffs: np.ndarray, limit: float = 0.995,
                       levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Correlation of the latent normals, from jittered scores ``z`` (n x d, NaN where missing) and each
    column's Hermite coefficients (d x K, over its present rows): solves
    sum_k rho^k c_ik c_jk / k! = observed pairwise-complete correlation, for every pair. Pairs of
    columns with few levels (``levels``: dimension -> CDF cut points) are solved exactly instead."""
    observed = pd.DataFrame(z).corr(min_periods=3)  # pairwise complete: NaN marks a missing value
    observed = observed.fillna(0.0).to_numpy()
    d, order = coeffs.shape
    fact = np.cumprod(np.arange(1, order + 1, dtype="float64"))
    terms = coeffs[:, None, :] * coeffs[None, :, :] / fact  # d x d x K

    def f(rho: np.ndarray) -> np.ndarray:
        powers = rho[..., None] ** np.arange(1, order + 1)
        return (terms * powers).sum(axis=-1)

    low, high = np.full((d, d), -limit), np.full((d, d), limit)
    f_low, f_high = f(low), f(high)
    target = np.clip(observed, np.minimum(f_low, f_high), np.maximum(f_low, f_high))
    increasing = f_high >= f_low
    for _ in range(50):  # bisection, all pairs at once
        mid = (low + high) / 2
        above = (f(mid) > target) == increasing
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    rho = (low + high) / 2
    rho = np.where(np.abs(terms[..., 0]) > 1e-9, rho, 0.0)
    rho = (rho + rho.T) / 2
    exact = sorted((levels or {}).items())
    for a, (i, cum_i) in enumerate(exact):  # pairs of few-level columns: exact polychoric solution
        for j, cum_j in exact[a + 1:]:
            if abs(rho[i, j]) > EXACT_FROM:  # below, the series is already accurate to ~0.01
                rho[i, j] = rho[j, i] = exact_level_correlation(cum_i, cum_j, float(observed[i, j]), limit)
    np.fill_diagonal(rho, 1.0)
    return nearest_correlation(rho)


def to_z_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal-score bounds for CDF bounds (0 and 1 map to -inf and +inf)."""
    zl = np.where(lo <= 0.0, -np.inf, ndtri(np.clip(lo, EPS, 1 - EPS)))
    zh = np.where(hi >= 1.0, np.inf, ndtri(np.clip(hi, EPS, 1 - EPS)))
    return zl, zh


def nearest_correlation(c: np.ndarray, floor: float = 1e-6, iterations: int = 200) -> np.ndarray:
    """The nearest valid correlation matrix to ``c`` (Frobenius norm): Higham's (2002) alternating
    projections with Dykstra's correction, between positive semidefinite matrices and unit diagonals;
    eigenvalues are finally lifted to ``floor`` so that Cholesky succeeds.

    Clipping eigenvalues alone would shrink every strong correlation at once; the alternating
    projections keep the entries that are consistent with each other where they are.
    """
    c = np.nan_to_num((c + c.T) / 2.0, nan=0.0)
    np.fill_diagonal(c, 1.0)
    if np.linalg.eigvalsh(c)[0] >= floor:
        return c
    y = c.copy()
    correction = np.zeros_like(c)
    for _ in range(iterations):
        r = y - correction
        w, v = np.linalg.eigh(r)
        x = (v * np.maximum(w, 0.0)) @ v.T
        correction = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        if np.linalg.norm(y_new - y) <= 1e-8 * max(np.linalg.norm(y), 1.0):
            y = y_new
            break
        y = y_new
    w, v = np.linalg.eigh((y + y.T) / 2.0)
    y = (v * np.maximum(w, floor)) @ v.T
    d = np.sqrt(np.diag(y))
    y = y / np.outer(d, d)
    np.fill_diagonal(y, 1.0)
    return y


def _truncnorm(mu: np.ndarray, sd: np.ndarray | float, a: np.ndarray, b: np.ndarray, rng) -> np.ndarray:
    """One draw of N(mu, sd^2) truncated to [a, b] per element (inverse CDF on the safer tail)."""
    al, be = (a - mu) / sd, (b - mu) / sd
    flip = al > 0  # work in the lower tail where ndtr keeps precision
    lo = np.where(flip, -be, al)
    hi = np.where(flip, -al, be)
    plo, phi = ndtr(lo), ndtr(hi)
    u = plo + (phi - plo) * rng.random(len(mu))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = ndtri(u)
    x = np.where(np.isfinite(x), x, np.where(np.isfinite(lo), lo, hi))
    x = np.clip(x, lo, hi)
    x = np.where(flip, -x, x)
    return np.clip(mu + sd * x, a, b)


def sample_truncated(
    corr: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    rng: np.random.Generator,
    *,
    sweeps: int = GIBBS_SWEEPS,
) -> np.ndarray:
    """Draw one z per row of ``lower``/``upper`` (shape n x d) from N(0, corr) restricted to the box."""
    n, d = lower.shape
    bounded = np.flatnonzero(np.isfinite(lower).any(axis=0) | np.isfinite(upper).any(axis=0))
    free = np.setdiff1d(np.arange(d), bounded)
    z = np.empty((n, d))
    if len(bounded):
        c = bounded
        rcc = corr[np.ix_(c, c)]
        q = np.linalg.inv(rcc)
        lo, hi = lower[:, c], upper[:, c]
        zc = np.empty((n, len(c)))
        for j in range(len(c)):  # start from the truncated marginals
            zc[:, j] = _truncnorm(np.zeros(n), 1.0, lo[:, j], hi[:, j], rng)
        is_point = lo == hi
        need = 0 if is_point.all() or len(c) == 1 else sweeps
        for _ in range(need):
            for j in range(len(c)):
                if is_point[:, j].all():
                    continue
                qj = q[j].copy()
                qjj = qj[j]
                qj[j] = 0.0
                mu = -(zc @ qj) / qjj
                zc[:, j] = _truncnorm(mu, 1.0 / np.sqrt(qjj), lo[:, j], hi[:, j], rng)
        z[:, c] = zc
    if len(free):
        f = free
        if len(bounded):
            c = bounded
            rcc_inv = np.linalg.inv(corr[np.ix_(c, c)])
            b = corr[np.ix_(f, c)] @ rcc_inv
            cond_cov = corr[np.ix_(f, f)] - b @ corr[np.ix_(c, f)]
            mean = z[:, c] @ b.T
        else:
            cond_cov = corr[np.ix_(f, f)]
            mean = 0.0
        chol = np.linalg.cholesky(nearest_correlation_cov(cond_cov))
        z[:, f] = mean + rng.standard_normal((n, len(f))) @ chol.T
    return z


def nearest_correlation_cov(cov: np.ndarray, floor: float = 1e-10) -> np.ndarray:
    """Symmetrise a covariance and lift tiny or negative eigenvalues so Cholesky succeeds."""
    cov = (cov + cov.T) / 2.0
    try:
        np.linalg.cholesky(cov)
        return cov
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(cov)
        return (v * np.maximum(w, floor)) @ v.T
