"""Hybrid tables: real rows and synthetic rows together, each marked.

>>> import pandas as pd
>>> real = pd.DataFrame({"x": range(10)})
>>> fake = pd.DataFrame({"x": range(100, 110)})
>>> mix = hybrid(real, fake, share=0.3, random_state=0)
>>> len(mix), int(mix["_synthetic"].sum())
(10, 3)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..table.io import read
from .base import check_random_state

__all__ = ["hybrid", "MARKER", "align_dtypes"]

#: Boolean column marking synthetic rows in hybrid and rebalanced tables.
MARKER = "_synthetic"


def align_dtypes(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Cast synthetic columns to the real table's dtypes where the values allow it."""
    out = synthetic.copy()
    for col in real.columns:
        if col in out.columns and out[col].dtype != real[col].dtype:
            try:
                out[col] = out[col].astype(real[col].dtype)
            except (TypeError, ValueError):
                pass  # e.g. missing values in an int column: keep the nullable dtype
    return out


def hybrid(real, synthetic, *, share: float, n: int | None = None, random_state: int | None = None) -> pd.DataFrame:
    """Mix real and synthetic rows; ``share`` of the result is synthetic.

    Args:
        real, synthetic: tables with the same columns.
        share: synthetic share of the result in [0, 1]; exactly ``round(share * n)`` rows are synthetic.
        n: rows in the result (default: as many as ``real``).
        random_state: seed for which rows are taken and the order.

    Returns:
        A shuffled table with a boolean ``_synthetic`` column.
    """
    real, synthetic = read(real), read(synthetic)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
        raise ParameterError(f"share must be a number in [0, 1], got {share!r}")
    if MARKER in real.columns or MARKER in synthetic.columns:
        raise SchemaError(f"the inputs already have a {MARKER!r} column", hint="drop it before mixing")
    if set(real.columns) != set(synthetic.columns):
        diff = sorted(set(real.columns) ^ set(synthetic.columns))
        raise SchemaError(f"real and synthetic tables have different columns: {', '.join(map(str, diff))}",
                          hint="generate the synthetic table from the same source")
    n = len(real) if n is None else n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    n_syn = int(round(share * n))
    n_real = n - n_syn
    if n_real > len(real):
        raise ParameterError(f"need {n_real} real rows but only {len(real)} are given", hint="lower n or raise share")
    if n_syn > len(synthetic):
        raise ParameterError(f"need {n_syn} synthetic rows but only {len(synthetic)} are given",
                             hint="sample more synthetic rows, or lower n or share")
    rng = np.random.default_rng(check_random_state(random_state))
    take_real = real.iloc[np.sort(rng.choice(len(real), n_real, replace=False))]
    take_syn = align_dtypes(synthetic[real.columns], real).iloc[np.sort(rng.choice(len(synthetic), n_syn, replace=False))]
    out = pd.concat([take_real.assign(**{MARKER: False}), take_syn.assign(**{MARKER: True})], ignore_index=True)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    out.attrs["synthgov"] = {"mode": "hybrid", "synthetic_share": n_syn / n}
    return out
