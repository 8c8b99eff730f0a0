"""Rebalancing: add synthetic rows of under-represented groups until shares reach a target.

Real rows are all kept; synthetic rows of each scarce group are drawn with an
exact condition on the group, so only the scarce groups grow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..table.io import read
from .base import Synthesizer, check_random_state
from .hybrid import MARKER, align_dtypes

__all__ = ["rebalance", "rebalance_plan"]


def rebalance_plan(counts: dict, target) -> dict:
    """Synthetic rows to add per group so that shares match ``target`` without dropping real rows.

    >>> rebalance_plan({"a": 80, "b": 20}, "uniform")
    {'a': 0, 'b': 60}
    >>> rebalance_plan({"a": 80, "b": 20}, {"a": 0.5, "b": 0.5})
    {'a': 0, 'b': 60}
    """
    groups = list(counts)
    if isinstance(target, str):
        if target != "uniform":
            raise ParameterError(f"unknown target {target!r}", hint="use 'uniform' or a dict {group: share}")
        shares = {g: 1.0 / len(groups) for g in groups}
    elif isinstance(target, dict):
        unknown = [g for g in target if g not in counts]
        if unknown:
            raise ParameterError(f"target names group(s) not in the data: {unknown}", hint=f"groups are: {groups}")
        shares = {g: float(target.get(g, 0.0)) for g in groups}
        if any(s < 0 for s in shares.values()) or abs(sum(shares.values()) - 1.0) > 1e-6:
            raise ParameterError("target shares must be non-negative and sum to 1", hint=f"got {target}")
        dropped = [g for g in groups if shares[g] == 0 and counts[g] > 0]
        if dropped:
            raise ParameterError(f"target gives share 0 to group(s) {dropped} that have real rows",
                                 hint="rebalancing only adds rows; give every present group a share")
    else:
        raise ParameterError(f"target must be 'uniform' or a dict, got {target!r}")
    total = max(counts[g] / shares[g] for g in groups if shares[g] > 0)
    return {g: max(0, int(round(shares[g] * total)) - counts[g]) for g in groups}


def rebalance(data, synthesizer: Synthesizer, *, column: str, target="uniform",
              random_state: int | None = None) -> pd.DataFrame:
    """Real rows plus synthetic rows of the scarce groups of ``column``.

    Args:
        data: the real table.
        synthesizer: fitted on ``data`` here if not fitted yet.
        column: a categorical or boolean column naming the groups.
        target: ``"uniform"`` or ``{group: share}`` (shares sum to 1).
        random_state: seed for the synthetic rows.

    Returns:
        The real rows (``_synthetic`` False) followed by the added synthetic rows (True). Groups seen
        fewer times than the schema's rare threshold cannot be generated: their real rows are kept,
        they are left out of the target, and ``attrs["synthgov"]["skipped_rare_groups"]`` names them.
    """
    df = read(data)
    seed = check_random_state(random_state)
    if not isinstance(synthesizer, Synthesizer):
        raise ParameterError(f"synthesizer must be a Synthesizer, got {type(synthesizer).__name__}")
    if column not in df.columns:
        raise SchemaError(f"unknown column {column!r}", hint=f"columns are: {', '.join(map(str, df.columns))}")
    if MARKER in df.columns:
        raise SchemaError(f"the table already has a {MARKER!r} column", hint="drop it first")
    if not synthesizer.is_fitted:
        synthesizer.fit(df)
    kind = synthesizer.schema_[column].kind.value
    if kind not in ("categorical", "boolean"):
        raise ParameterError(f"column {column!r} is {kind}; rebalancing needs a categorical or boolean column")
    col = synthesizer.schema_[column]
    counts = df[column].dropna().value_counts()
    counts = {(k.item() if hasattr(k, "item") else k): int(v) for k, v in counts.items()}
    # groups seen fewer than the rare threshold were grouped away: they cannot be generated, and
    # their real rows are kept as they are, outside the target shares
    skipped = sorted((g for g in counts if col.categories is not None and g not in col.categories), key=str)
    if isinstance(target, dict):
        named_rare = [g for g in target if g in skipped]
        if named_rare:
            raise ParameterError(
                f"target names group(s) {named_rare} seen fewer than {synthesizer.schema_.rare_threshold} times: "
                "they were grouped away and cannot be generated",
                hint="leave them out of the target (their real rows are kept), or lower rare_threshold",
            )
    plan = rebalance_plan({g: c for g, c in counts.items() if g not in skipped}, target)
    seeds = np.random.default_rng(seed).integers(0, 2**31, size=len(plan))
    parts = [df.assign(**{MARKER: False})]
    for (group, extra), seed in zip(plan.items(), seeds, strict=True):
        if extra == 0:
            continue
        rows = synthesizer.sample(extra, conditions={column: group}, random_state=int(seed))
        parts.append(align_dtypes(rows[df.columns], df).assign(**{MARKER: True}))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["synthgov"] = {"mode": "rebalance", "column": column, "added": plan, "skipped_rare_groups": skipped}
    return out
