"""Differential-privacy mechanisms that never touch floating point on the noise path.

Floating-point Laplace or Gaussian noise leaks (Mironov 2012: the low bits of a
``random()``-based sample reveal the true value). Every sampler here works on
integers and exact rationals only, driven by exactly uniform bounded integers
(numpy's ``Generator.integers``, Lemire's unbiased method, and a two-limb
rejection sampler above 2**62):

* :func:`bernoulli_exp` - Bernoulli(exp(-num/den)) for rationals (Canonne,
  Kamath & Steinke 2020, "The Discrete Gaussian for Differential Privacy", Alg. 1).
* :func:`discrete_laplace` - P(y) proportional to exp(-|y| s / t) (ibid., Alg. 2).
* :func:`discrete_gaussian` - P(y) proportional to exp(-y**2 / (2 sigma**2)) with a
  rational sigma**2 (ibid., Alg. 3). Adding it to an integer query of L2
  sensitivity D is (D**2 / (2 sigma**2))-zCDP (ibid., Thm. 4).
* :func:`exponential_mechanism` - picks index i with probability proportional to
  exp(eps * q_i / (2 D)), exactly: uniform proposals accepted with probability
  exp(-eps (q_max - q_i) / (2 D)). Scores are floored to a grid of 1/``GRID``
  first, which adds 1/``GRID`` to the sensitivity (accounted for). eps-DP and
  eps**2/8-zCDP (Cesar & Rogers 2021, bounded range).

Parameters are rounded to small rationals in the safe direction only (sigma**2
up, epsilon down) so a caller is never charged less than the noise it got.

The number of loop rounds depends on the random draws (and, for the exponential
mechanism, on the scores): these samplers are safe against floating-point
attacks, not against a timing side channel.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = discrete_gaussian(rng, rational_sigma2(4.0), 20000)
>>> y.dtype.kind, abs(float(y.mean())) < 0.1, 3.6 < float(y.var()) < 4.4
('i', True, True)
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import ParameterError

__all__ = [
    "GRID",
    "bernoulli_exp",
    "discrete_laplace",
    "discrete_gaussian",
    "exponential_mechanism",
    "rational_sigma2",
    "gaussian_sigma2",
    "sparse_histogram",
    "sparse_threshold",
    "rational_epsilon",
    "uniform_below",
]

_LIMB = 1 << 62
#: Scores given to :func:`exponential_mechanism` are floored to multiples of 1/GRID.
GRID = 64


def _as_ints(x) -> np.ndarray:
    """int64 where every value fits below 2**62 in magnitude, else an object array of Python ints."""
    arr = np.asarray(x)
    if arr.dtype != object:
        return arr.astype(np.int64)
    if arr.size == 0:
        return arr.astype(np.int64)
    big = max(abs(int(v)) for v in arr.ravel())
    return arr.astype(np.int64) if big < _LIMB else arr


def _objects(x) -> np.ndarray:
    """The values as Python ints in an object array (arithmetic that cannot overflow)."""
    arr = np.asarray(x)
    if arr.dtype == object:
        return arr
    out = np.empty(arr.shape, dtype=object)
    out[...] = [int(v) for v in arr.ravel()] if arr.size else []
    return out.reshape(arr.shape)


def uniform_below(rng: np.random.Generator, bound) -> np.ndarray:
    """Exactly uniform integers in [0, bound) for each (positive, possibly huge) bound."""
    bound = _as_ints(bound)
    if bound.dtype != object:
        return rng.integers(0, bound, dtype=np.int64)
    out = np.empty(bound.shape, dtype=object)
    todo = np.arange(bound.size)
    flat = bound.ravel()
    while todo.size:
        m = flat[todo]
        high = uniform_below(rng, _objects((m + _LIMB - 1) // _LIMB))
        low = rng.integers(0, _LIMB, size=todo.size, dtype=np.int64)
        value = _objects(high) * _LIMB + _objects(low)
        ok = np.asarray(value < m, dtype=bool)
        out.ravel()[todo[ok]] = value[ok]
        todo = todo[~ok]
    return _as_ints(out)


def _bernoulli_exp_fraction(rng, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Bernoulli(exp(-num/den)) for 0 <= num <= den: CKS Algorithm 1, first case."""
    n = num.shape[0]
    result = np.zeros(n, dtype=bool)
    k = np.ones(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        # A ~ Bernoulli(gamma / k): a uniform integer below den*k compared with num
        d_a, k_a = den[active], k[active]
        if d_a.dtype != object and int(d_a.max()) * int(k_a.max()) < _LIMB:
            bound = d_a * k_a
        else:
            bound = _as_ints(_objects(d_a) * _objects(k_a))
        a = np.asarray(uniform_below(rng, bound) < num[active], dtype=bool)
        stop = active[~a]
        result[stop] = (k[stop] % 2) == 1
        active = active[a]
        k[active] += 1
    return result


def bernoulli_exp(rng: np.random.Generator, num, den) -> np.ndarray:
    """Exact Bernoulli(exp(-num/den)) draws, one per element (num >= 0, den > 0 integers)."""
    num, den = np.broadcast_arrays(_as_ints(np.atleast_1d(num)), _as_ints(np.atleast_1d(den)))
    if num.dtype != object and den.dtype != object:
        whole, frac = num // den, num % den
    else:
        num, den = _objects(num), _objects(den)
        whole = _as_ints(num // den)
        frac = _as_ints(num - _objects(whole) * den)
        den = _as_ints(den)
    n = num.shape[0]
    alive = np.ones(n, dtype=bool)
    left = whole.copy()
    pending = np.flatnonzero(np.asarray(left > 0, dtype=bool))
    one = np.ones(1, dtype=np.int64)
    while pending.size:  # gamma > 1: floor(gamma) independent Bernoulli(exp(-1)) successes first
        b = _bernoulli_exp_fraction(rng, np.broadcast_to(one, pending.shape), np.broadcast_to(one, pending.shape))
        alive[pending[~b]] = False
        keep = pending[b]
        left[keep] -= 1
        pending = keep[np.asarray(left[keep] > 0, dtype=bool)]
    idx = np.flatnonzero(alive)
    if idx.size:
        alive[idx] = _bernoulli_exp_fraction(rng, frac[idx], den[idx])
    return alive


def _geometric_exp1(rng, n: int) -> np.ndarray:
    """Number of Bernoulli(exp(-1)) successes before the first failure."""
    v = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    ones = np.ones(n, dtype=np.int64)
    while active.size:
        a = _bernoulli_exp_fraction(rng, ones[: active.size], ones[: active.size])
        active = active[a]
        v[active] += 1
    return v


def discrete_laplace(rng: np.random.Generator, s: int, t: int, size: int) -> np.ndarray:
    """``size`` draws with P(y) proportional to exp(-|y| s/t) (scale t/s; CKS Algorithm 2)."""
    s, t = int(s), int(t)
    if s < 1 or t < 1:
        raise ParameterError(f"discrete Laplace needs positive integers s, t; got {s}, {t}")
    out = np.zeros(size, dtype=object)
    todo = np.arange(size)
    while todo.size:
        m = todo.size
        tt = _as_ints(np.full(m, t, dtype=object))
        u = uniform_below(rng, tt)
        d = bernoulli_exp(rng, u, tt)
        u = u[d]
        v = _geometric_exp1(rng, u.size)
        x = _objects(u) + _objects(v) * t
        y = x // s
        b = rng.integers(0, 2, size=u.size, dtype=np.int64)
        ok = ~((b == 1) & np.asarray(y == 0, dtype=bool))
        val = (1 - 2 * _objects(b[ok])) * y[ok]
        take = todo[:val.size]
        out[take] = val
        todo = todo[val.size:]
    return _as_ints(out)


def rational_sigma2(sigma2: float | Fraction) -> Fraction:
    """sigma**2 as a rational with a small denominator, never below the value asked for."""
    if isinstance(sigma2, Fraction):
        value = sigma2
    else:
        if not math.isfinite(sigma2) or sigma2 <= 0:
            raise ParameterError(f"the noise variance must be a positive finite number, got {sigma2!r}")
        value = Fraction(sigma2)
    den = 64 if value < 1024 else 1
    return Fraction(math.ceil(value * den), den)


def rational_epsilon(epsilon: float | Fraction) -> Fraction:
    """epsilon as a multiple of 2**-24, never above the value asked for (and positive)."""
    value = Fraction(epsilon)
    out = Fraction(math.floor(value * 2**24), 2**24)
    if out <= 0:
        raise ParameterError(f"epsilon {float(epsilon)!r} is too small for the exponential mechanism")
    return out


def discrete_gaussian(rng: np.random.Generator, sigma2: Fraction, size: int) -> np.ndarray:
    """``size`` draws of the discrete Gaussian with variance parameter ``sigma2`` (a Fraction; CKS Algorithm 3)."""
    sigma2 = Fraction(sigma2)
    if sigma2 <= 0:
        raise ParameterError("the discrete Gaussian needs a positive sigma**2")
    a, b = sigma2.numerator, sigma2.denominator
    t = math.isqrt(a // b) + 1
    out = np.zeros(size, dtype=object)
    filled = 0
    while filled < size:
        m = size - filled
        y = _objects(discrete_laplace(rng, 1, t, m))
        mag = np.abs(y)
        num = (mag * (t * b) - a) ** 2
        den = np.full(m, 2 * a * b * t * t, dtype=object)
        c = bernoulli_exp(rng, num, den)
        got = y[c]
        out[filled:filled + got.size] = got
        filled += got.size
    return _as_ints(out)


def gaussian_sigma2(rho: float | Fraction, sensitivity: int | Fraction = 1) -> Fraction:
    """sigma**2 of the discrete Gaussian that makes a query of L2 ``sensitivity`` rho-zCDP (rounded up)."""
    rho = Fraction(rho)
    if rho <= 0:
        raise ParameterError("a zCDP cost must be positive")
    return rational_sigma2(Fraction(sensitivity) ** 2 / (2 * rho))


def sparse_threshold(sigma2: Fraction, delta: float) -> int:
    """Threshold tau of the Gaussian sparse histogram: a key held by one row passes with probability <= delta.

    The discrete Gaussian is sub-Gaussian with variance proxy sigma**2 (CKS 2020), so
    P[1 + Z >= tau] <= exp(-(tau - 1)**2 / (2 sigma**2)) <= delta.
    """
    if not 0 < delta < 1:
        raise ParameterError(f"delta must be in (0, 1), got {delta!r}")
    return 1 + math.ceil(math.sqrt(float(sigma2)) * math.sqrt(2 * math.log(1 / delta)) * (1 + 1e-12))


def sparse_histogram(rng: np.random.Generator, counts, rho: float | Fraction, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """(kept mask, noisy counts) of the keys seen: each count plus discrete Gaussian noise, kept if >= tau.

    Under add/remove one row this is (rho, delta)-approximately zCDP: a key only the
    differing row holds is released with probability at most delta; otherwise one count
    moves by one (sensitivity 1).
    """
    sigma2 = gaussian_sigma2(rho)
    noisy = np.asarray(counts, dtype=np.int64) + discrete_gaussian(rng, sigma2, len(counts))
    return noisy >= sparse_threshold(sigma2, delta), noisy


def exponential_mechanism(rng: np.random.Generator, scores, epsilon: Fraction, sensitivity: int | Fraction,
                          size: int | None = None):
    """Index drawn with probability proportional to exp(epsilon * score / (2 * sensitivity')).

    ``sensitivity`` is the scores' sensitivity; the mechanism uses sensitivity' =
    sensitivity + 1/GRID because scores are floored to the grid. It is epsilon-DP.
    ``size``: that many independent draws (an array) instead of one index.
    """
    q = np.asarray(scores, dtype="float64")
    if q.ndim != 1 or q.size == 0 or not np.all(np.isfinite(q)):
        raise ParameterError("the exponential mechanism needs a non-empty vector of finite scores")
    grid_scores = _objects(np.floor(q * GRID).astype(np.int64)) if np.all(np.abs(q) < 2**50) else \
        _objects([math.floor(Fraction(v) * GRID) for v in q])
    sens = Fraction(sensitivity) * GRID + 1  # in grid units
    eps = Fraction(epsilon)
    top = max(grid_scores)
    gap = _as_ints(top - grid_scores)  # >= 0 integers
    # gamma_i = eps * gap_i / (2 sens) = (eps.num * sens.den * gap_i) / (eps.den * 2 * sens.num)
    num = _as_ints(_objects(gap) * (eps.numerator * sens.denominator))
    den = eps.denominator * 2 * sens.numerator
    m, want = q.size, 1 if size is None else int(size)
    # one stream of (uniform proposal, exact acceptance) pairs; draw k is the k-th accepted proposal,
    # exactly as if each draw had its own rejection loop
    found: list[np.ndarray] = []
    have = 0
    batch = min(max(64, 2 * want), 1 << 20)
    while have < want:
        proposals = rng.integers(0, m, size=batch, dtype=np.int64)
        accept = bernoulli_exp(rng, num[proposals], np.full(batch, den, dtype=object))
        hit = proposals[accept]
        found.append(hit)
        have += hit.size
    out = np.concatenate(found)[:want]
    return int(out[0]) if size is None else out
