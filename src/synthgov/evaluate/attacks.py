"""Privacy attacks in Anonymeter's design: singling out, linkability and attribute inference.

Each attack is run three ways (Giomi et al. 2023, *A Unified Framework for
Quantifying Privacy Risk in Synthetic Data*, PoPETs):

* **main**: the attacker uses the synthetic table against records of the
  training table (members, whose information the generator saw);
* **control**: the same attack against holdout records (non-members, drawn
  from the same population but never shown to the generator): what the
  synthetic table reveals about *anyone* of that population;
* **baseline**: a naive attacker guessing at random, without using the
  synthetic table's joint structure. When it does as well as the main attack
  the measurement says nothing (the details say so).

Success rates are proportions with 95% Wilson intervals. Only the excess of
main over control is counted as risk::

    risk = (main_rate - control_rate) / (1 - control_rate)

with its interval propagated from the two half-widths to first order and
clipped to [0, 1]. Where attacks are correlated (singling-out predicates built
from the same synthetic row) the Wilson intervals use the effective number of
attacks; where the singling-out control must be extrapolated to the training
table's size, its interval also covers the extrapolation's spread. These are
empirical attacks on one synthetic table, not guarantees: a stronger attacker
may do better.

Differences from the anonymeter package, all deliberate: rates are over the
attacks actually made (anonymeter divides by the number requested even when it
found fewer predicates); duplicate rows are kept (anonymeter drops them, so two
identical people could be "singled out"); the singling-out search is exhaustive
when the column combinations are few, and vectorised otherwise; the size
correction is fitted to exact subsample shares rather than to random subsamples.

This module declares the three metrics; the rates, intervals and risk come
from ``_risk`` and the singling-out predicates from ``_singling``.

>>> wilson_interval(5, 10)
(0.2366, 0.7634)
>>> risk, ci = attack_risk(SuccessRate(60, 100), SuccessRate(20, 100))
>>> round(risk, 4), tuple(round(v, 4) for v in ci)
(0.5, (0.3725, 0.6275))
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..table.schema import Kind
from ._neighbours import nearest
from ._risk import (
    SuccessRate,
    attack_result,
    attack_risk,
    effective_trials,
    rates_details,
    size_corrected_rate,
    wilson_interval,
)
from ._singling import Codes, baseline_predicates, find_predicates, singling_out_rates, univariate_predicates
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "SuccessRate", "wilson_interval", "attack_risk", "effective_trials", "size_corrected_rate",
    "SinglingOutRisk", "LinkabilityRisk", "InferenceRisk",
]

_SOURCE = ("Giomi et al. 2023, A Unified Framework for Quantifying Privacy Risk in Synthetic Data "
           "(Anonymeter), PoPETs")


def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _targets(data, n_attacks: int, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """At most ``n_attacks`` training rows (main targets) and holdout rows (control targets), seeded."""
    return (data.subsample(data.real, n_attacks, f"{name}:main"),
            data.subsample(data.holdout, n_attacks, f"{name}:control"))


def _nearest(data, columns: list[str], targets: pd.DataFrame, k: int) -> np.ndarray:
    """Positions of the ``k`` synthetic rows nearest to each target on ``columns`` (Gower-like distance, exact;
    ties go to the lower position)."""
    return nearest(data, targets, "synthetic", k=min(k, len(data.synthetic)), key=None, columns=columns).indices


def _require_holdout(data) -> None:
    if data.holdout is None or len(data.holdout) == 0:
        raise NotComputed(data.holdout_problem or "needs a real holdout")


class SinglingOutRisk(Metric):
    """Multivariate singling-out risk: predicates isolating one synthetic row, tried on the real rows."""

    name = "singling_out_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker single out a real person. The attacker writes "
        "predicates from synthetic rows: a conjunction of conditions on 3 random columns by default (equal to the row's "
        "category; for a number, at least the row's value when it lies above the median, else at most it; or "
        "missing), kept when it matches exactly one synthetic row, and claims each isolates one real person. "
        "Success on the training rows (main attack) is compared with success on holdout rows the generator "
        "never saw (control; when the holdout is smaller than the training table its rate is scaled to the "
        "training size with Anonymeter's model, and the interval widened by the scaling's uncertainty): "
        "risk = (main - control) / (1 - control), with a 95% interval from the two rates' intervals "
        "(Wilson, counting predicates built from the same synthetic row as correlated), clipped to [0, 1]. "
        "0 is ideal: the predicates isolate training people no more often than anyone else. A random-predicate "
        "baseline shows whether the attack is informative at all. This is an empirical attack, not a "
        "guarantee: a stronger attacker may do better."
    )

    def __init__(self, *, n_attacks: int = 500, n_conditions: int = 3, max_candidates: int = 200_000):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        self.n_conditions = _positive_int("n_conditions", n_conditions)
        self.max_candidates = _positive_int("max_candidates", max_candidates)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        columns = list(data.columns)
        k = min(self.n_conditions, len(columns))
        rng = data.rng(self.name)
        codes = Codes({"synthetic": data.synthetic, "real": data.real, "holdout": data.holdout},
                      columns, set(data.numeric))
        found = find_predicates(rng, codes, self.n_attacks, k, self.max_candidates)
        cols = found.cols
        if len(cols) == 0:
            raise NotComputed(f"no predicate of {k} conditions matches exactly one synthetic row "
                              "(" + found.shortfall + "): the attacker finds nothing to single out")
        baseline = baseline_predicates(rng, codes, len(cols), k)
        main, control, base, extra = singling_out_rates(codes, cols, found.lo, found.hi, found.sources, rng, baseline)
        details: dict[str, Any] = {
            "mode": "multivariate", "n_conditions": k, "columns": columns, "n_attacks": len(cols),
            "n_attacks_requested": self.n_attacks, **found.search,
            "rows_used": {"real": len(data.real), "holdout": len(data.holdout), "synthetic": len(data.synthetic)},
            "method": "exact (every row of each table)", **extra,
        }
        if len(cols) < self.n_attacks:
            details["note"] = f"{found.shortfall} (asked for {self.n_attacks}); intervals are wider accordingly"
        details["univariate"] = self._univariate(codes, rng)
        return attack_result(main, control, base, details, start)

    def _univariate(self, codes: Codes, rng: np.random.Generator) -> dict[str, Any]:
        """Anonymeter's univariate mode, for comparison: single conditions (rare levels, extremes)."""
        cols, lo, hi = univariate_predicates(codes)
        if len(cols) == 0:
            return {"n_attacks": 0, "note": "no single condition matches exactly one synthetic row"}
        if len(cols) > self.n_attacks:
            keep = np.sort(rng.permutation(len(cols))[:self.n_attacks])
            cols, lo, hi = cols[keep], lo[keep], hi[keep]
        baseline = baseline_predicates(rng, codes, len(cols), 1)
        main, control, base, extra = singling_out_rates(codes, cols, lo, hi, np.arange(len(cols)), rng, baseline)
        risk, ci = attack_risk(main, control)
        out = rates_details(main, control, base, risk, ci)
        out.pop("plot")
        return {"n_attacks": len(cols), **out, **extra}


class LinkabilityRisk(Metric):
    """Linkability risk: can the synthetic table link two halves of a real person's record?"""

    name = "linkability_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker link two pieces of information about the same real person. "
        "The known columns (the quasi-identifiers, or every compared column but the named secrets) are split into two "
        "halves in table order, as if held in two separate databases; for each target record the attacker finds its "
        "nearest synthetic rows on each half (Gower-like distance; ties go to the first synthetic row) and links the "
        "halves when the same synthetic row is among both. Success on training records (main) is compared with "
        "success on holdout records the generator never saw (control): risk = (main - control) / (1 - control), with "
        "a 95% interval from the Wilson intervals, clipped to [0, 1]; 0 is ideal. A baseline linking random synthetic "
        "rows shows whether the attack is informative. An empirical attack, not a guarantee."
    )

    def __init__(self, *, n_attacks: int = 500, n_neighbors: int = 1):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        self.n_neighbors = _positive_int("n_neighbors", n_neighbors)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        known = list(data.quasi_identifiers) or [c for c in data.columns if c not in data.secrets]
        if len(known) < 2:
            raise NotComputed("linkability needs at least two known columns to split into two halves")
        half = (len(known) + 1) // 2
        halves = (known[:half], known[half:])
        main_t, control_t = _targets(data, self.n_attacks, self.name)
        targets = pd.concat([main_t, control_t], ignore_index=True)
        k = min(self.n_neighbors, len(data.synthetic))
        first, second = (_nearest(data, cols, targets, k) for cols in halves)
        linked = (first[:, :, None] == second[:, None, :]).any(axis=(1, 2))
        rng = data.rng(self.name)
        n_syn = len(data.synthetic)
        guess = (rng.integers(n_syn, size=(len(main_t), k)), rng.integers(n_syn, size=(len(main_t), k)))
        by_chance = (guess[0][:, :, None] == guess[1][:, None, :]).any(axis=(1, 2))
        main = SuccessRate(int(linked[:len(main_t)].sum()), len(main_t))
        control = SuccessRate(int(linked[len(main_t):].sum()), len(control_t))
        baseline = SuccessRate(int(by_chance.sum()), len(main_t))
        details = {"columns": {"first": halves[0], "second": halves[1]}, "n_neighbors": k,
                   "n_attacks": len(main_t), "n_attacks_requested": self.n_attacks,
                   "rows_used": {"real": len(main_t), "holdout": len(control_t), "synthetic": n_syn},
                   "method": f"targets subsampled to at most {self.n_attacks} rows per table; exact neighbour search"}
        return attack_result(main, control, baseline, details, start)


def _correct(guess: np.ndarray, truth: np.ndarray, allowed: np.ndarray | float | None) -> np.ndarray:
    """Right guesses: for numbers, within ``allowed`` of the truth (missing = missing); for categories
    (``allowed`` None), equal (missing = missing)."""
    if allowed is None:
        return np.asarray([g == t for g, t in zip(guess, truth, strict=True)], dtype=bool)
    guess, truth = guess.astype(float), truth.astype(float)
    return (np.isnan(guess) & np.isnan(truth)) | (np.abs(guess - truth) <= allowed)


def _tolerance(data, secret: str, truth: np.ndarray, tolerance: float) -> tuple[np.ndarray | float | None, str]:
    """How far a guess of ``secret`` may be from the truth, and how to say it."""
    if secret not in data.numeric:
        return None, "guess equals the true category"
    if data.schema[secret].kind is Kind.DATETIME:
        # a date's distance to 1970 means nothing; its share of the real date range does
        values = data.real[secret].to_numpy(dtype=float)
        span = float(np.nanmax(values) - np.nanmin(values)) if np.isfinite(values).any() else 0.0
        return tolerance * span, f"guess within {tolerance:.0%} of the real date range of the true date"
    return tolerance * np.abs(truth.astype(float)), f"guess within {tolerance:.0%} of the true value"


class InferenceRisk(Metric):
    """Attribute-inference risk: guessing a secret column from the nearest synthetic row."""

    name = "inference_risk"
    family = "privacy"
    goal = "minimize"
    range = (0.0, 1.0)
    needs = frozenset({"holdout"})
    source = _SOURCE
    definition = (
        "How much the synthetic table helps an attacker infer a secret attribute of a real person. For each secret "
        "column (the named secrets, else the target, else the last column) the attacker knows the person's other "
        "columns (the quasi-identifiers when named; never the secrets), finds the nearest synthetic row (Gower-like "
        "distance) and guesses its secret value: right when the category matches, when a number is within 5% of the "
        "true value, or a date within 5% of the real date range. Success on training records (main) is compared with "
        "success on holdout records the generator never saw (control): risk = (main - control) / (1 - control), with "
        "a 95% interval from the Wilson intervals, clipped to [0, 1]; 0 is ideal. The value is the largest risk over "
        "the secrets. A baseline guessing the secret of a random synthetic row shows whether the attack is "
        "informative. An empirical attack, not a guarantee."
    )

    def __init__(self, *, n_attacks: int = 500, tolerance: float = 0.05):
        self.n_attacks = _positive_int("n_attacks", n_attacks)
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
            raise ParameterError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
        self.tolerance = float(tolerance)

    def compute(self, data) -> MetricResult:
        start = time.perf_counter()
        _require_holdout(data)
        secrets = list(data.secrets) or [data.target or data.columns[-1]]
        base_known = list(data.quasi_identifiers) or list(data.columns)
        main_t, control_t = _targets(data, self.n_attacks, self.name)
        targets = pd.concat([main_t, control_t], ignore_index=True)
        rng = data.rng(self.name)
        n_main, n_syn = len(main_t), len(data.synthetic)
        nearest: dict[tuple[str, ...], np.ndarray] = {}
        per_secret: dict[str, Any] = {}
        best: tuple[float, Any] | None = None
        for secret in secrets:
            known = [c for c in base_known if c != secret and c not in secrets]
            if not known:
                per_secret[secret] = {"reason": "no known column is left once the secrets are set aside"}
                continue
            if tuple(known) not in nearest:
                nearest[tuple(known)] = _nearest(data, known, targets, 1)[:, 0]
            values = data.synthetic[secret].to_numpy()
            truth = targets[secret].to_numpy()
            allowed, success = _tolerance(data, secret, truth, self.tolerance)
            hit = _correct(values[nearest[tuple(known)]], truth, allowed)
            lucky = _correct(values[rng.integers(n_syn, size=n_main)], truth[:n_main],
                             allowed[:n_main] if isinstance(allowed, np.ndarray) else allowed)
            main = SuccessRate(int(hit[:n_main].sum()), n_main)
            control = SuccessRate(int(hit[n_main:].sum()), len(control_t))
            baseline = SuccessRate(int(lucky.sum()), n_main)
            risk, ci = attack_risk(main, control)
            entry = {**rates_details(main, control, baseline, risk, ci), "known_columns": known,
                     "success": success}
            entry.pop("plot")
            per_secret[secret] = entry
            if best is None or risk > best[0]:
                best = (risk, secret, main, control, baseline)
        if best is None:
            raise NotComputed("no secret column can be attacked: " + "; ".join(
                f"'{s}': {v['reason']}" for s, v in per_secret.items()))
        _, worst, main, control, baseline = best
        attacked = [s for s in secrets if "reason" not in per_secret[s]]
        details = {
            "secret": worst, "secrets": per_secret, "n_attacks": n_main, "n_attacks_requested": self.n_attacks,
            "tolerance": self.tolerance,
            "rows_used": {"real": n_main, "holdout": len(control_t), "synthetic": n_syn},
            "method": f"targets subsampled to at most {self.n_attacks} rows per table; exact neighbour search",
        }
        result = attack_result(main, control, baseline, details, start)
        result.details["plot"] = {
            "type": "bars", "title": "Inference success rate per secret", "groups": attacked,
            "series": {w: [per_secret[s][w]["rate"] for s in attacked] for w in ("main", "control", "baseline")},
            "ylabel": "share of right guesses"}
        return result
