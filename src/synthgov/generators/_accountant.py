"""A privacy budget that can never be overspent.

Budgets are kept in zero-concentrated DP (zCDP, Bun & Steinke 2016), which
composes by adding rho, plus an optional delta for "approximate" steps (a
thresholded histogram is (rho, delta)-approximately zCDP). Amounts are exact
fractions: no float rounding can let the sum creep past the total. Every
:meth:`ZCDPAccountant.spend` checks *before* the mechanism runs and raises
:class:`~synthgov.errors.PrivacyBudgetError` instead of overspending.

The conversion from (epsilon, delta) to rho is Canonne, Kamath & Steinke
(2020), Corollary 13: rho-zCDP implies (epsilon, delta)-DP for
delta = min over alpha > 1 of exp((alpha-1)(alpha*rho - epsilon)) / (alpha-1) * (1-1/alpha)**alpha.
Any alpha gives a valid bound, so a numerical search can only be conservative.

>>> acct = ZCDPAccountant.from_epsilon_delta(1.0, 1e-6)
>>> 0.02 < float(acct.rho) < 0.03
True
>>> acct.spend(acct.rho / 2, mechanism="discrete Gaussian", purpose="counts")
>>> acct.spend(acct.rho, mechanism="discrete Gaussian", purpose="too much")
Traceback (most recent call last):
...
synthgov.errors.PrivacyBudgetError: the privacy budget would be exceeded: ...
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..errors import ParameterError, PrivacyBudgetError

__all__ = ["ZCDPAccountant", "delta_for", "epsilon_for", "rho_for"]

_DEN = 2**48  # budgets are kept as multiples of 2**-48, rounded in the safe direction


def delta_for(rho: float, epsilon: float) -> float:
    """delta such that rho-zCDP implies (epsilon, delta)-DP (CKS 2020, Cor. 13; any alpha is valid)."""
    if rho <= 0:
        return 0.0
    if epsilon <= rho:
        return 1.0

    def log_bound(alpha: float) -> float:
        return (alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1 / alpha) - math.log(alpha - 1)

    # the log-bound is convex in alpha; its derivative (2 alpha - 1) rho - epsilon + log(1 - 1/alpha)
    # increases with alpha, so bisect for its root
    lo, hi = 1.0 + 1e-12, max(2.0, (epsilon + 1) / (2 * rho) + 2)
    for _ in range(100):
        mid = (lo + hi) / 2
        if (2 * mid - 1) * rho - epsilon + math.log1p(-1 / mid) < 0:
            lo = mid
        else:
            hi = mid
    return min(1.0, math.exp(min(log_bound((lo + hi) / 2), 0.0)) * (1 + 1e-9))


def epsilon_for(rho: float, delta: float) -> float:
    """The smallest epsilon (found by bisection, rounded up) with delta_for(rho, epsilon) <= delta."""
    if rho <= 0:
        return 0.0
    lo, hi = 0.0, rho + 2 * math.sqrt(rho * math.log(1 / delta)) + 1.0
    for _ in range(64):
        mid = (lo + hi) / 2
        if delta_for(rho, mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


def rho_for(epsilon: float, delta: float) -> float:
    """The largest rho (found by bisection, rounded down) whose guarantee is (epsilon, delta)-DP."""
    lo, hi = 0.0, epsilon
    for _ in range(64):
        mid = (lo + hi) / 2
        if delta_for(mid, epsilon) <= delta:
            lo = mid
        else:
            hi = mid
    return lo


def _down(x: float | Fraction) -> Fraction:
    return Fraction(math.floor(Fraction(x) * _DEN), _DEN)


def _up(x: float | Fraction) -> Fraction:
    return Fraction(math.ceil(Fraction(x) * _DEN), _DEN)


class ZCDPAccountant:
    """A zCDP budget (rho, plus delta for approximate steps); spends are checked before they happen."""

    def __init__(self, rho: float | Fraction, delta: float | Fraction = 0, *, epsilon: float | None = None,
                 target_delta: float | None = None):
        if not (isinstance(rho, Fraction) or (isinstance(rho, (int, float)) and math.isfinite(rho))) or rho <= 0:
            raise ParameterError(f"a zCDP budget needs a positive finite rho, got {rho!r}")
        self.rho = _down(rho)
        self.delta = _down(delta)
        self.epsilon, self.target_delta = epsilon, target_delta
        self.spent_rho = Fraction(0)
        self.spent_delta = Fraction(0)
        self.steps: list[dict[str, Any]] = []

    @classmethod
    def from_epsilon_delta(cls, epsilon: float, delta: float, *, approx_share: float = 0.0) -> ZCDPAccountant:
        """The budget equivalent to (epsilon, delta)-DP; ``approx_share`` of delta is kept for approximate steps."""
        approx = delta * approx_share
        return cls(rho_for(epsilon, delta - approx), approx, epsilon=epsilon, target_delta=delta)

    @property
    def remaining(self) -> Fraction:
        return self.rho - self.spent_rho

    def spend(self, rho: float | Fraction, *, mechanism: str, delta: float | Fraction = 0, **details: Any) -> None:
        """Record a step costing ``rho`` (and ``delta``); raises PrivacyBudgetError if it does not fit."""
        cost, dcost = _up(rho), _up(delta)
        if cost < 0 or dcost < 0:
            raise ParameterError("a privacy cost cannot be negative")
        if self.spent_rho + cost > self.rho or self.spent_delta + dcost > self.delta:
            raise PrivacyBudgetError(
                f"the privacy budget would be exceeded: step {details.get('purpose', mechanism)!r} needs rho={float(cost):.3g}"
                f"{f', delta={float(dcost):.3g}' if dcost else ''} but only rho={float(self.remaining):.3g}"
                f", delta={float(self.delta - self.spent_delta):.3g} is left",
                hint="give a larger epsilon or spend the budget on fewer steps",
            )
        self.spent_rho += cost
        self.spent_delta += dcost
        self.steps.append({"mechanism": mechanism, "rho": float(cost), **({"delta": float(dcost)} if dcost else {}),
                           **details})

    def guarantee(self) -> tuple[float, float]:
        """(epsilon, delta)-DP of what has been spent so far (delta as targeted, epsilon computed, <= the target)."""
        delta = self.target_delta if self.target_delta is not None else 1e-6
        conv = delta - float(self.delta)
        eps = epsilon_for(float(self.spent_rho), conv)
        if self.epsilon is not None:
            eps = min(eps, self.epsilon)
        return eps, delta
