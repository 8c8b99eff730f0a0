"""Ancestral sampling of the Bayesian network, with evidence.

Without conditions every row is drawn in network order, each column from its
conditional table given its parents' codes: exact.

With conditions:

* one row of conditions per sample (``partial``) leaving few free combinations
  (at most ``MAX_ENUMERATE``): exact, by enumerating the free codes and drawing
  one combination in proportion to its joint probability;
* otherwise, likelihood weighting: ``PARTICLES`` candidates per row with the
  conditioned columns clamped to their allowed codes, each weighted by the
  probability of its evidence given its parents, then importance resampling
  (over the whole pool when every row has the same conditions). Evidence on
  columns whose ancestors are all conditioned is exact; otherwise this is the
  standard consistent approximation.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConditionError

__all__ = ["Evidence", "sample_codes"]

BLOCK = 4096
PARTICLES = 32
#: Per-row conditions leaving at most this many combinations of free codes are sampled exactly.
MAX_ENUMERATE = 512


class Evidence:
    """Allowed codes of one column: a mask for every row (``mask``) or one code per row (``codes``)."""

    def __init__(self, *, mask: np.ndarray | None = None, codes: np.ndarray | None = None):
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        self.codes = None if codes is None else np.asarray(codes, dtype=np.int64)


def _draw(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(p, axis=1)
    u = rng.random(p.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(1), p.shape[1] - 1)


def _draw_rows(table: np.ndarray, cfg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One code per row from ``table[cfg]`` without materialising the rows (inverse CDF on a flat, shifted CDF)."""
    n_cfg, k = table.shape
    cum = np.cumsum(table, axis=1)
    cum = cum / np.where(cum[:, -1:] > 0, cum[:, -1:], 1.0)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_cfg)[:, None]).ravel()  # row r's CDF shifted to [r, r + 1]: one sorted array
    u = np.minimum(rng.random(len(cfg)), 1 - 1e-12)
    idx = np.searchsorted(flat, cfg + u, side="right") - cfg * k
    return np.clip(idx, 0, k - 1)


def _log_table(tables, parents, sizes, j, codes: np.ndarray) -> np.ndarray:
    """log P(codes[..., j] | parents) for code arrays of any leading shape."""
    cfg = np.zeros(codes.shape[:-1], dtype=np.int64)
    for p in parents[j]:
        cfg = cfg * sizes[p] + codes[..., p]
    with np.errstate(divide="ignore"):
        return np.log(tables[j][cfg, codes[..., j]])


def _enumerate(order, parents, tables, sizes, evidence, rows, rng, free: list[int]):
    """Exact draw from P(free columns | evidence) by enumerating every combination of the free codes."""
    d = len(sizes)
    allowed = [np.flatnonzero(evidence[j].mask) if j in evidence else np.arange(sizes[j]) for j in free]
    combos = np.array(np.meshgrid(*allowed, indexing="ij")).reshape(len(free), -1).T  # (C, len(free))
    c = len(combos)
    sub = max(1, 2_000_000 // (c * d))  # rows per pass: at most ~2 million codes in memory
    out = np.zeros((len(rows), d), dtype=np.int64)
    met = np.ones(len(rows), dtype=bool)
    for start in range(0, len(rows), sub):
        part = rows[start:start + sub]
        b = len(part)
        codes = np.zeros((b, c, d), dtype=np.int64)
        for j, ev in evidence.items():
            if ev.codes is not None:
                codes[:, :, j] = ev.codes[part][:, None]
        codes[:, :, free] = combos[None, :, :]
        logp = sum(_log_table(tables, parents, sizes, j, codes) for j in order)
        ok = np.isfinite(logp).any(1)
        top = np.where(ok, logp.max(1), 0.0)
        w = np.where(ok[:, None], np.exp(logp - top[:, None]), 1.0)
        out[start:start + b] = codes[np.arange(b), _draw(w, rng)]
        met[start:start + b] = ok
    return out, met


def _block(order, parents, tables, sizes, evidence: dict[int, Evidence], rows: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``len(rows)`` rows (``rows``: their indices in the request) and a flag per row: evidence met."""
    per_row = any(ev.codes is not None for ev in evidence.values())
    free = [j for j in range(len(sizes)) if j not in evidence or evidence[j].mask is not None]
    if per_row and np.prod([int(evidence[j].mask.sum()) if j in evidence else sizes[j] for j in free]) <= MAX_ENUMERATE:
        return _enumerate(order, parents, tables, sizes, evidence, rows, rng, free)
    k = PARTICLES if evidence else 1
    m = len(rows) * k
    owner = np.repeat(rows, k)
    codes = np.zeros((m, len(sizes)), dtype=np.int64)
    logw = np.zeros(m)
    for j in order:
        cfg = np.zeros(m, dtype=np.int64)
        for p in parents[j]:
            cfg = cfg * sizes[p] + codes[:, p]
        ev = evidence.get(j)
        if ev is None:
            codes[:, j] = _draw_rows(tables[j], cfg, rng)
        elif ev.codes is not None:
            c = ev.codes[owner]
            with np.errstate(divide="ignore"):
                logw += np.log(tables[j][cfg, c])
            codes[:, j] = c
        else:
            pm = tables[j][cfg] * ev.mask[None, :]
            w = pm.sum(1)
            with np.errstate(divide="ignore"):
                logw += np.log(w)
            pm = np.where(w[:, None] > 0, pm, ev.mask[None, :].astype("float64"))
            codes[:, j] = _draw(pm, rng)
    if k == 1:
        return codes, np.ones(len(rows), dtype=bool)
    if not per_row:  # the same evidence for every row: resample the whole pool (rows are exchangeable)
        if not np.isfinite(logw).any():
            return codes[: len(rows)], np.zeros(len(rows), dtype=bool)
        w = np.exp(logw - logw.max())
        pick = rng.choice(m, size=len(rows), p=w / w.sum())
        return codes[pick], np.ones(len(rows), dtype=bool)
    lw = logw.reshape(len(rows), k)
    met = np.isfinite(lw).any(1)
    top = np.where(met, lw.max(1), 0.0)
    w = np.where(met[:, None], np.exp(lw - top[:, None]), 1.0)
    pick = _draw(w, rng)
    return codes.reshape(len(rows), k, -1)[np.arange(len(rows)), pick], met


def sample_codes(n: int, order, parents, tables, sizes, evidence: dict[int, Evidence], rng: np.random.Generator,
                 progress=None) -> tuple[np.ndarray, np.ndarray]:
    """(codes of ``n`` rows, flag per row: its evidence has positive probability under the model)."""
    out = np.zeros((n, len(sizes)), dtype=np.int64)
    met = np.ones(n, dtype=bool)
    widest = max([sizes[j] for j, ev in evidence.items() if ev.mask is not None] or [1])
    step = max(16, min(BLOCK, 4_000_000 // (PARTICLES * widest))) if evidence else BLOCK * 16
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        out[rows], met[rows] = _block(order, parents, tables, sizes, evidence, rows, rng)
        if progress:
            progress("sample", int(rows[-1]) + 1, n)
    return out, met


def check_possible(order, parents, tables, sizes, evidence: dict[int, Evidence], rng, what: str) -> None:
    """Raise ConditionError if scalar evidence has probability zero under the model (checked on 256 draws)."""
    if not evidence or any(ev.mask is None for ev in evidence.values()):
        return
    _, met = _block(order, parents, tables, sizes, evidence, np.arange(256), rng)
    if not met.any():
        raise ConditionError(f"impossible condition: the model gives {what} no probability",
                             hint="relax the condition (the model learned no rows like that)")
