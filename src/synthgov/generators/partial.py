"""Partial synthesis: replace only the sensitive columns, conditioned on the rest.

Every other column is returned unchanged (except PII columns that are regenerated, unless
``keep_pii=True``); each replaced value is drawn from the
model conditioned on that row's other values (exact conditioning, see
:class:`~synthgov.generators.copula.CopulaSynthesizer`). Columns computed by a
constraint cannot be conditioned on and are left out of the conditioning set.
"""

from __future__ import annotations

import pandas as pd

from ..errors import ConditionError, ParameterError, SchemaError
from ..table.constraints import FixedCombinations, Range
from ..table.io import read
from .base import Synthesizer

__all__ = ["partial"]


def partial(data, *, columns, synthesizer: Synthesizer, random_state: int | None = None,
            keep_pii: bool = False) -> pd.DataFrame:
    """Return ``data`` with ``columns`` replaced by synthetic values.

    Args:
        data: the real table.
        columns: names of the columns to replace. A column that takes part in an inequality or a
            formula must be replaced together with the constraint's other columns.
        synthesizer: a synthesizer; fitted on ``data`` here if it is not fitted yet.
        random_state: seed for the replacement draw.
        keep_pii: keep columns that are regenerated because they hold PII (names, e-mail, phone,
            national ids, addresses) as they are. By default they are replaced with fresh values too,
            so that real identities never sit next to synthetic values; the output's
            ``attrs["synthgov"]["replaced_columns"]`` lists every replaced column.
    """
    df = read(data)
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns or [])
    if not columns:
        raise ParameterError("partial needs at least one column to replace")
    unknown = [c for c in columns if c not in df.columns]
    if unknown:
        raise SchemaError(f"cannot replace unknown column(s): {', '.join(unknown)}",
                          hint=f"columns are: {', '.join(map(str, df.columns))}")
    if not isinstance(synthesizer, Synthesizer):
        raise ParameterError(f"synthesizer must be a Synthesizer, got {type(synthesizer).__name__}")
    if not synthesizer.is_fitted:
        synthesizer.fit(df)
    schema = synthesizer.schema_
    for con in synthesizer.codec_.constraints:
        if isinstance(con, (FixedCombinations, Range)):
            continue  # a fixed combination is kept by conditioning; a range holds per column
        touched = set(con.columns) & set(columns)
        if touched and not set(con.columns) <= set(columns):
            together = [c for c in con.columns if c not in columns]
            raise ParameterError(
                f"column(s) {', '.join(sorted(touched))} take part in constraint {con.describe()}",
                hint=f"replace them together with {', '.join(together)} (add to columns=)",
            )
    if not keep_pii:
        columns += [c.name for c in schema if c.pii and not c.modelled and c.name not in columns]
    missing = [c for c in df.columns if c not in schema]
    if missing:
        raise SchemaError(f"the synthesizer was fitted without column(s) {', '.join(missing)}",
                          hint="fit it on a table with the same columns")
    keep = []
    for name in df.columns:
        if name in columns:
            continue
        try:
            synthesizer.codec_.model_column_for(name)
        except ConditionError:
            continue  # regenerated or constraint-derived: not a conditioning column
        keep.append(name)
    conditions = df[keep].reset_index(drop=True) if keep else None
    sampled = synthesizer.sample(len(df), conditions=conditions, random_state=random_state)
    out = df.copy()
    for name in columns:
        values = sampled[name]
        try:
            values = values.astype(df[name].dtype)
        except (TypeError, ValueError):
            pass
        out[name] = values.set_axis(out.index)
    out.attrs["synthgov"] = {"mode": "partial", "replaced_columns": columns}
    return out
