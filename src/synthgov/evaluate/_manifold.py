"""k-NN precision and recall (Kynkäänniemi et al. 2019): do the synthetic rows fall in the real rows' manifold?

:func:`knn_precision_recall` counts the synthetic rows inside at least one
real row's k-NN ball (precision) and the real rows inside at least one
synthetic row's ball (recall), on Gower-like distances from
:meth:`EvalData.distance_encoder <synthgov.evaluate.data.EvalData.distance_encoder>`,
memoised so ``knn_precision`` and ``knn_recall`` share one computation. The
metrics themselves are declared in :mod:`synthgov.evaluate.fidelity`.

A synthetic table that copies the real one lies wholly inside it, both ways:
every copy falls inside its own row's ball.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData
>>> real = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0], "c": list("aabbabab")})
>>> counts = knn_precision_recall(EvalData.prepare(real, real.copy(), holdout=real))
>>> counts["precision"], counts["recall"], counts["n"]
(8, 8, 8)

Moving one synthetic row far away puts it outside every real ball, while its
own ball, reaching its 5th nearest synthetic neighbour, grows to cover every
real row (outliers inflate recall):

>>> far = real.assign(x=real["x"].where(real.index < 7, 1000.0))
>>> counts = knn_precision_recall(EvalData.prepare(real, far, holdout=real))
>>> counts["precision"], counts["recall"]
(7, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._threads import one_thread
from .base import NotComputed

__all__ = ["PRD_ROWS", "PRD_K", "knn_precision_recall"]

#: Rows per table and neighbours for the k-NN precision and recall.
PRD_ROWS = 2_000
PRD_K = 5


def _squared_distances(a: np.ndarray, b: np.ndarray, a_sq: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    return np.maximum(a_sq[:, None] + b_sq[None, :] - 2.0 * (a @ b.T), 0.0)


def knn_precision_recall(data) -> dict[str, Any]:
    """Kynkäänniemi et al.'s k-NN manifolds: which synthetic rows fall in the real one and vice versa.

    Every distance (the k-NN radii and the ball tests) comes from one float32 formula, on rows centred at the
    real mean (which keeps rounding near 1e-6); a point counts as inside a ball when its squared distance
    exceeds the squared radius by at most 1e-5, so an exact copy of a row always falls inside that row's ball.
    """
    def build():
        n = min(PRD_ROWS, len(data.real), len(data.synthetic))
        if n <= PRD_K:
            raise NotComputed(f"needs more than {PRD_K} rows in each table")
        encode = data.distance_encoder()
        real = encode(data.subsample(data.real, n, "knn_prd"))
        synthetic = encode(data.subsample(data.synthetic, n, "knn_prd"))
        used = (real != 0).any(axis=0) | (synthetic != 0).any(axis=0)   # empty slots add nothing to a distance
        centre = real[:, used].mean(axis=0)
        real, synthetic = real[:, used] - centre, synthetic[:, used] - centre
        r_sq, s_sq = (real * real).sum(axis=1), (synthetic * synthetic).sum(axis=1)
        slack = np.float32(1e-5)
        chunk = 1000
        with one_thread():
            def radii2(points: np.ndarray, sq: np.ndarray) -> np.ndarray:
                # squared distance to the k-th nearest other point (the point itself is the nearest, at 0)
                out = np.empty(len(points), dtype=np.float32)
                for start in range(0, len(points), chunk):
                    d2 = _squared_distances(points[start:start + chunk], points, sq[start:start + chunk], sq)
                    out[start:start + chunk] = np.partition(d2, PRD_K, axis=1)[:, PRD_K]
                return out + slack

            real_r2, syn_r2 = radii2(real, r_sq), radii2(synthetic, s_sq)
            in_real = np.zeros(n, dtype=bool)       # synthetic row inside some real row's ball
            in_synthetic = np.zeros(n, dtype=bool)  # real row inside some synthetic row's ball
            for start in range(0, n, chunk):
                d2 = _squared_distances(synthetic[start:start + chunk], real, s_sq[start:start + chunk], r_sq)
                in_real[start:start + chunk] = (d2 <= real_r2[None, :]).any(axis=1)
                in_synthetic |= (d2 <= syn_r2[start:start + chunk, None]).any(axis=0)
        method = "exact" if n == max(len(data.real), len(data.synthetic)) else f"subsampled to {n} rows per table"
        return {"precision": int(in_real.sum()), "recall": int(in_synthetic.sum()), "n": n, "method": method,
                "dimensions": int(used.sum())}

    return data.memo("fidelity:knn_prd", build)
