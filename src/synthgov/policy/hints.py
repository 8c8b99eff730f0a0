"""Suggest classifications for a table from its schema; a person confirms them.

A policy's ``hints`` name a class and the columns that suggest it: name patterns
(shell-style, matched without regard to case), PII tags from schema inference and,
optionally, kinds that narrow the match. :func:`suggest_classes` returns one
:class:`Suggestion` per class with the reason for each column that triggered it. Nothing
is classified automatically: the caller shows the suggestions and a person picks the
classes that go into the release's facts.

>>> from synthgov.table.schema import Column, TableSchema
>>> from synthgov.policy.load import load_policy, example_policy_path
>>> policy = load_policy(example_policy_path())
>>> schema = TableSchema(columns=(Column(name="wage", kind="numeric"), Column(name="patient_name", kind="text", pii="name")))
>>> for s in suggest_classes(schema, policy=policy):
...     print(s.class_id, "|", "; ".join(s.reasons))
personal:financial | column 'wage' matches name pattern '*wage*'
personal:general | column 'patient_name' has PII tag 'name'
personal:health | column 'patient_name' matches name pattern '*patient*'
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import Any

from ..errors import ParameterError
from ..table.schema import TableSchema
from .load import LoadedPolicy
from .schema import Hint, Policy

__all__ = ["Suggestion", "suggest_classes"]


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A class the schema suggests, the columns behind it and why; ``confirmed`` stays False until a person says so."""

    class_id: str
    description: str
    columns: tuple[str, ...]
    reasons: tuple[str, ...]
    confirmed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"columns": list(self.columns), "reasons": list(self.reasons)}


def _why(hint: Hint, column: Any) -> str | None:
    kind = getattr(getattr(column, "kind", None), "value", getattr(column, "kind", None))
    if hint.kinds and kind not in hint.kinds:
        return None
    name = column.name.casefold()
    for pattern in hint.columns:
        if fnmatch.fnmatchcase(name, pattern.casefold()):
            return f"column {column.name!r} matches name pattern {pattern!r}"
    pii = getattr(column, "pii", None)
    if pii and pii in hint.pii:
        return f"column {column.name!r} has PII tag {pii!r}"
    if hint.kinds and not hint.columns and not hint.pii:
        return f"column {column.name!r} is of kind {kind!r}"
    return None


def suggest_classes(schema: TableSchema, *, policy: Policy | LoadedPolicy) -> list[Suggestion]:
    """Classes the policy's hints suggest for ``schema`` (a :class:`~synthgov.table.schema.TableSchema`), by class id."""
    model = policy.policy if isinstance(policy, LoadedPolicy) else policy
    if not isinstance(model, Policy):
        raise ParameterError(f"policy must be a loaded policy, got {type(policy).__name__}",
                             hint="load one with synthgov.policy.load_policy(path)")
    if not isinstance(schema, TableSchema):
        raise ParameterError(f"schema must be a TableSchema, got {type(schema).__name__}",
                             hint="infer one with synthgov.TableSchema.infer(df)")
    found: dict[str, tuple[list[str], list[str]]] = {}
    for hint in model.hints:
        for column in schema.columns:
            reason = _why(hint, column)
            if reason is None:
                continue
            cols, reasons = found.setdefault(hint.class_, ([], []))
            if reason not in reasons:
                reasons.append(reason)
            if column.name not in cols:
                cols.append(column.name)
    out = []
    for class_id in sorted(found):
        cols, reasons = found[class_id]
        described = model.classification(class_id)
        out.append(Suggestion(class_id=class_id, description=described.description if described else "",
                              columns=tuple(cols), reasons=tuple(reasons)))
    return out
