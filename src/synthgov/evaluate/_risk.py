"""From attack outcomes to risk, in Anonymeter's design (Giomi et al. 2023): rates, intervals, risk, report.

A :class:`SuccessRate` is ``successes`` of ``trials`` attacks with a 95%
interval: Wilson's (:func:`wilson_interval`), on the effective number of
attacks when attacks are correlated (:func:`effective_trials`), or a given
half-width for an estimated rate. :func:`size_corrected_rate` estimates the
share of singling-out predicates that would isolate one row of a table of
another size. :func:`attack_risk` turns a main and a control rate into the risk
``(main - control) / (1 - control)`` with its interval, and
:func:`attack_result` into a :class:`~synthgov.evaluate.base.MetricResult`
whose details compare both with the random baseline. The attacks themselves
live in :mod:`synthgov.evaluate.attacks`.

A hand-worked example: 60 of 100 main attacks and 20 of 100 control attacks
succeed, so the risk is (0.6 - 0.2) / (1 - 0.2) = 0.5.

>>> risk, ci = attack_risk(SuccessRate(60, 100), SuccessRate(20, 100))
>>> round(risk, 4), tuple(round(v, 4) for v in ci)
(0.5, (0.3725, 0.6275))
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
from scipy.special import gammaln

from ..errors import ParameterError
from . import _stats
from .base import MetricResult

__all__ = [
    "Z95", "wilson_interval", "SuccessRate", "effective_trials", "attack_risk", "rates_details", "attack_result",
    "one_in_sample", "size_corrected_rate",
]

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: float, trials: int, *, z: float = Z95, digits: int | None = 4) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``trials`` (rounded to ``digits``; ``None``: exact).

    >>> wilson_interval(0, 10)
    (0.0, 0.2775)
    """
    if trials <= 0:
        raise ParameterError(f"trials must be positive, got {trials!r}")
    low, high = _stats.wilson_interval(successes, trials, z)
    return (round(low, digits), round(high, digits)) if digits is not None else (low, high)


@dataclasses.dataclass(frozen=True)
class SuccessRate:
    """``successes`` of ``trials`` attacks, with its 95% interval.

    The interval is Wilson's, unless ``half_width`` is given: then it is the rate
    plus or minus ``half_width`` (an estimated rate, such as the size-corrected
    singling-out control, whose uncertainty is not binomial).
    """

    successes: float
    trials: int
    half_width: float | None = None
    #: Fewer independent attacks than ``trials`` when attacks are correlated; Wilson's interval then uses it.
    effective_trials: float | None = None

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    def _wilson(self) -> tuple[float, float]:
        n = self.trials if self.effective_trials is None else self.effective_trials
        return wilson_interval(self.rate * n, n, digits=None)

    @property
    def error(self) -> float:
        """Half-width of the 95% interval (before clipping to [0, 1] for ``half_width``)."""
        if self.half_width is not None:
            return self.half_width
        low, high = self._wilson()
        return (high - low) / 2

    @property
    def interval(self) -> tuple[float, float]:
        if self.half_width is not None:
            return max(0.0, self.rate - self.half_width), min(1.0, self.rate + self.half_width)
        return self._wilson()

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        out = {"rate": round(self.rate, 6), "ci": [round(low, 6), round(high, 6)],
               "successes": round(float(self.successes), 3), "n_attacks": int(self.trials)}
        if self.effective_trials is not None:
            out["effective_n_attacks"] = round(float(self.effective_trials), 1)
        return out


def effective_trials(values, clusters) -> float:
    """How many independent attacks ``values`` (per-attack success, 0/1 or a probability) are worth when
    attacks in the same cluster are correlated: ``n`` over the design effect, the cluster-robust variance of
    the mean relative to the binomial variance (never above ``n``).

    >>> effective_trials([1, 1, 0, 0], [0, 1, 2, 3])   # no two attacks share a cluster
    4.0
    >>> effective_trials([1, 1, 0, 0], [0, 0, 1, 1])   # two pairs that always agree: worth 2 attacks
    2.0
    """
    values = np.asarray(values, dtype=float)
    n = values.size
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    n_clusters = int(inverse.max()) + 1 if n else 0
    mean = float(values.mean()) if n else 0.0
    binomial = mean * (1.0 - mean) / n if n else 0.0
    if n_clusters < 2 or n_clusters == n or binomial <= 0.0:
        return float(n)
    sums = np.bincount(inverse.ravel(), weights=values - mean)
    robust = float((sums ** 2).sum()) / n ** 2
    return float(n) if robust <= 0.0 else float(min(n, max(1.0, n * binomial / robust)))


def attack_risk(main: SuccessRate, control: SuccessRate) -> tuple[float, tuple[float, float]]:
    """Risk ``(main - control) / (1 - control)`` and its interval, both clipped to [0, 1].

    The interval is the risk plus or minus the first-order propagation of the two
    half-widths ``dm`` and ``dc`` (Wilson's, as a rule):
    ``sqrt((dm / (1 - c))**2 + (dc * (1 - m) / (1 - c)**2)**2)``. When the control
    attack always succeeds the risk cannot be told apart from what the synthetic
    table reveals about anyone: 0 with interval (0, 1).
    """
    m, c = main.rate, control.rate
    if c >= 1.0:
        return 0.0, (0.0, 1.0)
    dm, dc = main.error, control.error
    risk = (m - c) / (1 - c)
    err = math.hypot(dm / (1 - c), dc * (1 - m) / (1 - c) ** 2)
    clip = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    return clip(risk), (clip(risk - err), clip(risk + err))


def attack_result(main: SuccessRate, control: SuccessRate, baseline: SuccessRate, details: dict[str, Any],
                  start: float) -> MetricResult:
    """The risk of ``main`` over ``control`` as a metric result: :func:`rates_details`, then ``details``, then the
    seconds since ``start`` (a :func:`time.perf_counter` reading)."""
    risk, ci = attack_risk(main, control)
    return MetricResult(value=risk, ci=ci, details={**rates_details(main, control, baseline, risk, ci), **details,
                                                    "seconds": round(time.perf_counter() - start, 4)})


def rates_details(main: SuccessRate, control: SuccessRate, baseline: SuccessRate, risk: float,
                  ci: tuple[float, float]) -> dict[str, Any]:
    """The details every attack reports: the risk, the three rates, whether the main attack beats the random
    baseline (in words), and a bar plot of the rates."""
    informative = main.rate > baseline.rate and control.rate < 1.0
    if control.rate >= 1.0:
        check = ("the control attack succeeds every time (or its size-corrected estimate saturates), so what the "
                 "synthetic table reveals about members cannot be told apart from what it reveals about anyone: "
                 "this risk figure is not informative")
    elif informative and main.interval[0] > baseline.interval[1]:
        check = "the main attack beats the random baseline: the risk figure is informative"
    elif informative:
        check = ("the main attack does only slightly better than the random baseline (their intervals overlap): "
                 "read the risk with caution")
    else:
        check = ("the random baseline does as well as the main attack: the attack learnt nothing from the "
                 "synthetic table here, so this risk figure is not informative")
    return {"risk": round(risk, 6), "risk_ci": [round(ci[0], 6), round(ci[1], 6)], "main": main.to_dict(),
            "control": control.to_dict(), "baseline": baseline.to_dict(), "informative": informative,
            "baseline_check": check,
            "plot": {"type": "bars", "title": "Attack success rates", "groups": ["main", "control", "baseline"],
                     "series": {"success rate": [round(r.rate, 6) for r in (main, control, baseline)]},
                     "ylabel": "share of successful attacks"}}


def _singling_probability(n: np.ndarray, w_max: np.ndarray) -> np.ndarray:
    """Mean of ``n w (1 - w)**(n - 1)`` (exactly one of ``n`` rows matches) over ``w`` uniform on (0, w_max)."""
    n, w_max = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(w_max, dtype=float))
    none_match = np.exp(n * np.log1p(-np.minimum(w_max, 1 - 1e-15)))
    return (1.0 - (1.0 + n * w_max) * none_match) / ((n + 1.0) * w_max)


def one_in_sample(counts: np.ndarray, n_rows: int, sizes: np.ndarray) -> np.ndarray:
    """Probability that a random ``size``-row subsample of ``n_rows`` rows keeps exactly one of the ``count``
    rows a predicate matches: ``c * C(n - c, m - 1) / C(n, m)`` (hypergeometric), for each count x size."""
    c = np.asarray(counts, dtype=float)[:, None]
    m = np.asarray(sizes, dtype=float)[None, :]
    possible = (c >= 1) & (m >= 1) & (m - 1 <= n_rows - c)
    rest = np.maximum(n_rows - c - m + 1, 0.0)
    log_p = (np.log(np.maximum(c, 1.0)) + gammaln(n_rows - c + 1) - gammaln(m) - gammaln(rest + 1)
             - gammaln(n_rows + 1.0) + gammaln(m + 1) + gammaln(n_rows - m + 1))
    return np.where(possible, np.exp(np.where(possible, log_p, 0.0)), 0.0)


def _subsample_single_share(counts: np.ndarray, n_rows: int, sizes: np.ndarray) -> np.ndarray:
    """Expected share of predicates matching exactly one row of a random ``size``-row subsample (per size),
    given how many of the ``n_rows`` rows each predicate matches (hypergeometric, exact)."""
    values, freq = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
    return (freq[:, None] * one_in_sample(values, n_rows, sizes)).sum(axis=0) / freq.sum()


def size_corrected_rate(counts, n_rows: int, n_target: int) -> float:
    """Share of predicates that would match exactly one row of ``n_target`` holdout-like rows.

    ``counts[i]`` is how many of ``n_rows`` holdout rows predicate ``i`` matches.
    With ``n_target <= n_rows`` the answer is exact: the expected share for a
    random ``n_target``-row subsample. Beyond, it is extrapolated as Anonymeter
    does: the share measured at ``n_rows`` times ``m(n_target) / m(n_rows)``,
    where ``m(n) = a * mean(n w (1 - w)**(n - 1))`` over predicate weights ``w``
    uniform on (0, w_max), fitted (``a``, ``w_max`` on a log grid) to the exact
    shares of subsamples of 10% to 100% of the rows. A larger table is singled
    out less easily by chance than a smaller one, so the raw share would be wrong.

    >>> size_corrected_rate([1, 1, 0, 2], 10, 10)
    0.5
    >>> round(size_corrected_rate([1, 1, 0, 2], 10, 5), 4)
    0.3889
    """
    counts = np.asarray(counts, dtype=np.int64)
    if n_target <= n_rows:
        return float(_subsample_single_share(counts, n_rows, np.asarray([n_target]))[0])
    raw = float(np.mean(counts == 1))
    sizes = np.unique(np.clip(np.rint(np.linspace(0.1, 1.0, 20) * n_rows), 1, n_rows)).astype(np.int64)
    shares = _subsample_single_share(counts, n_rows, sizes)
    if raw == 0.0 or not shares.any():
        return raw
    grid = np.logspace(-9, 0, 271)
    g = _singling_probability(sizes[:, None], grid[None, :])
    scale = np.maximum((shares[:, None] * g).sum(axis=0) / (g * g).sum(axis=0), 0.0)
    best = int(np.argmin(((shares[:, None] - scale * g) ** 2).sum(axis=0)))
    ratio = _singling_probability(n_target, grid[best]) / _singling_probability(n_rows, grid[best])
    return float(min(1.0, raw * ratio))
