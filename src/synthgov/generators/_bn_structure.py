"""Structure and conditional tables of the Bayesian network, exact or differentially private.

Both learners add one column at a time to an ordered network, giving it at most
``degree`` parents among the columns already in it, so that ancestral sampling
in that order is exact.

* :func:`learn_exact` (no privacy): the next column and its first parent are
  the pair of highest mutual information; further parents are added greedily
  while they pass a BIC test (information gain against the added table size)
  and the table stays within ``max_cells``. Tables are exact conditional frequencies.
* :func:`learn_private` (zCDP, select-measure-generate in the style of MST/AIM,
  McKenna et al. 2021, 2022): each step picks (column, parents) with the exponential
  mechanism; the score of a candidate is how far the joint counts of the column
  and its parents are from "column independent of its parents" (an L1 distance of
  sensitivity 2) minus the L1 noise its measurement would add, as in AIM, so
  large noisy tables lose to small informative ones. Then the joint table of
  each chosen family is measured once with discrete Gaussian noise, and the
  conditional tables are the noisy counts, clipped at zero and shrunk towards
  the column's noisy marginal (post-processing).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from ._accountant import ZCDPAccountant
from ._dp import discrete_gaussian, exponential_mechanism, gaussian_sigma2, rational_epsilon

__all__ = ["learn_exact", "learn_private", "joint_counts"]

#: Candidates scored per step of the private search (a public random subset beyond this).
MAX_CANDIDATES = 400
#: Penalty per added table cell in units of log n (0.5 is BIC).
PENALTY = 0.05


def joint_counts(codes: np.ndarray, cols: tuple[int, ...], sizes: list[int]) -> np.ndarray:
    """Counts of every combination of ``cols`` (flattened, last column fastest)."""
    n = codes.shape[0]
    if not cols:
        return np.array([float(n)])
    index = np.zeros(n, dtype=np.int64)
    for c in cols:
        index = index * sizes[c] + codes[:, c]
    total = int(np.prod([sizes[c] for c in cols]))
    return np.bincount(index, minlength=total).astype("float64")


def _mutual_information(joint: np.ndarray, k_child: int) -> float:
    """I(child; parents) in nats from joint counts shaped (parent configurations, child levels)."""
    m = joint.reshape(-1, k_child)
    n = m.sum()
    if n <= 0:
        return 0.0
    pa = m.sum(1, keepdims=True)
    ch = m.sum(0, keepdims=True)
    nz = m > 0
    return float((m[nz] / n * np.log(m[nz] * n / (pa @ ch)[nz])).sum())


def _cells(sizes: list[int], cols) -> int:
    return int(np.prod([sizes[c] for c in cols])) if cols else 1


def learn_exact(codes: np.ndarray, sizes: list[int], *, degree: int, max_cells: int) -> tuple[list[int], dict[int, tuple]]:
    """Greedy network of in-degree <= ``degree`` by mutual information (see module docs)."""
    n, d = codes.shape
    if d == 0:
        return [], {}
    mi = np.zeros((d, d))
    for i, j in itertools.combinations(range(d), 2):
        if sizes[i] * sizes[j] <= max_cells:
            mi[i, j] = mi[j, i] = _mutual_information(joint_counts(codes, (j, i), sizes), sizes[i])
    first = int(np.argmax(mi.sum(1)))
    order, parents = [first], {first: ()}
    log_n = math.log(max(n, 2))
    while len(order) < d:
        rest = [c for c in range(d) if c not in parents]
        sub = mi[np.ix_(rest, order)]
        r, p = np.unravel_index(int(np.argmax(sub)), sub.shape)
        child = rest[r]
        chosen: list[int] = []
        current = 0.0
        if sub[r, p] > 0 and _bic_gain(n, sub[r, p], sizes[child], 1, sizes[order[p]], log_n):
            chosen, current = [order[p]], float(sub[r, p])
        while chosen and len(chosen) < degree:
            best, best_mi = None, current
            for cand in order:
                if cand in chosen or _cells(sizes, chosen + [cand, child]) > max_cells:
                    continue
                value = _mutual_information(joint_counts(codes, tuple(chosen + [cand, child]), sizes), sizes[child])
                old, new = _cells(sizes, chosen), _cells(sizes, chosen + [cand])
                if value > best_mi and _bic_gain(n, value - current, sizes[child], old, new, log_n):
                    best, best_mi = cand, value
            if best is None:
                break
            chosen.append(best)
            current = best_mi
        order.append(child)
        parents[child] = tuple(chosen)
    return order, parents


def _bic_gain(n: int, gain: float, k_child: int, old_cells: int, new_cells: int, log_n: float) -> bool:
    """BIC: the log-likelihood gain n * I must beat half log n per added free parameter."""
    return n * gain > PENALTY * log_n * (k_child - 1) * (new_cells - old_cells)


def exact_tables(codes: np.ndarray, sizes: list[int], parents: dict[int, tuple]) -> dict[int, np.ndarray]:
    """Conditional tables P(child | parents), shape (parent configurations, child levels)."""
    tables = {}
    for child, pa in parents.items():
        m = joint_counts(codes, tuple(pa) + (child,), sizes).reshape(-1, sizes[child])
        marginal = joint_counts(codes, (child,), sizes)
        tables[child] = _normalise(m, marginal / max(marginal.sum(), 1.0), 0.0)
    return tables


def _normalise(m: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """Rows of counts to probabilities, shrunk towards ``prior`` by ``strength`` pseudo-rows; empty rows get the prior."""
    prior = np.maximum(prior, 0)
    prior = prior / prior.sum() if prior.sum() > 0 else np.full(len(prior), 1.0 / len(prior))
    m = np.maximum(m, 0) + strength * prior
    tot = m.sum(1, keepdims=True)
    return np.where(tot > 0, m / np.where(tot > 0, tot, 1), prior)


def _sqrt_down(x: Fraction) -> Fraction:
    """A rational no larger than sqrt(x) (to 2**-30)."""
    scale = 2**30
    return Fraction(math.isqrt(math.floor(x * scale * scale)), scale)


def learn_private(codes: np.ndarray, sizes: list[int], marginals: list[np.ndarray], *, degree: int, max_cells: int,
                  accountant: ZCDPAccountant, rho_select: float, rho_measure: float, rng: np.random.Generator,
                  ) -> tuple[list[int], dict[int, tuple], dict[int, np.ndarray]]:
    """Private structure and tables (see module docs); ``marginals`` are the noisy 1-way counts per column.

    ``rho_select`` / ``rho_measure``: zCDP cost of each selection / each measurement; every one is
    charged to ``accountant`` before it runs.
    """
    n, d = codes.shape
    if d == 0:
        return [], {}, {}
    probs = [np.maximum(m, 0) / max(np.maximum(m, 0).sum(), 1.0) for m in marginals]
    sigma2 = gaussian_sigma2(rho_measure)
    sigma = math.sqrt(float(sigma2))
    eps_select = rational_epsilon(_sqrt_down(8 * Fraction(rho_select)))
    first = int(rng.integers(0, d))  # data-independent, as in PrivBayes
    order, parents = [first], {first: ()}
    while len(order) < d:
        rest = [c for c in range(d) if c not in parents]
        cands = [(x, pa) for x in rest for k in range(0, min(degree, len(order)) + 1)
                 for pa in itertools.combinations(order, k) if _cells(sizes, pa + (x,)) <= max_cells]
        if len(cands) > MAX_CANDIDATES:
            pick = rng.choice(len(cands), size=MAX_CANDIDATES, replace=False)
            cands = [cands[i] for i in np.sort(pick)]
        scores = np.empty(len(cands))
        for i, (x, pa) in enumerate(cands):
            joint = joint_counts(codes, pa + (x,), sizes).reshape(-1, sizes[x])
            independent = joint.sum(1, keepdims=True) * probs[x][None, :]
            penalty = math.sqrt(2 / math.pi) * sigma * joint.size if pa else 0.0
            scores[i] = np.abs(joint - independent).sum() - penalty
        accountant.spend(eps_select ** 2 / 8, mechanism="exponential mechanism",
                         purpose="structure", epsilon=float(eps_select), sensitivity=2, candidates=len(cands))
        x, pa = cands[exponential_mechanism(rng, scores, eps_select, 2)]
        order.append(x)
        parents[x] = pa
    tables = {}
    for child in order:
        pa = parents[child]
        prior = probs[child]
        if not pa:
            tables[child] = prior[None, :]
            continue
        accountant.spend(1 / (2 * sigma2), mechanism="discrete Gaussian", purpose="family counts",
                         sigma=round(sigma, 4), cells=_cells(sizes, pa + (child,)))
        joint = joint_counts(codes, pa + (child,), sizes)
        noisy = joint + discrete_gaussian(rng, sigma2, joint.size).astype("float64")
        strength = math.sqrt(2 / math.pi) * sigma * sizes[child]
        # a level the noisy one-way counts say is absent stays absent in every row of the table
        noisy = np.where(prior[None, :] > 0, noisy.reshape(-1, sizes[child]), 0.0)
        tables[child] = _normalise(noisy, prior, strength)
    return order, parents, tables
