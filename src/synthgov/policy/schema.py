"""The sharing policy format (``version: 1``), as pydantic models.

A policy declares classifications, hints that suggest them, end-use categories, country
groups, screening settings and one or more rules per classification. Models are frozen
and refuse unknown fields; cross-references (a rule naming an undeclared class, an
unknown country or group, an undeclared end use) are checked when the policy is built,
and the error carries the path of the offending field so the loader can name its line.

>>> gate = Gate.parse("mia_auc <= 0.6")
>>> (gate.metric, gate.op, gate.value, str(gate))
('mia_auc', '<=', 0.6, 'mia_auc <= 0.6')
>>> gate.passes(0.55), gate.passes(0.7)
(True, False)
"""

from __future__ import annotations

import fnmatch
import math
import operator
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from .countries import is_country_code

__all__ = ["Policy", "Classification", "Hint", "EndUse", "Destinations", "Gate", "Rule", "Screening", "POLICY_VERSION"]

POLICY_VERSION = 1

_CLASS_ID = r"^[a-z0-9][a-z0-9_.-]*(:[a-z0-9][a-z0-9_.-]*)*$"
_CLASS_PATTERN = re.compile(r"^[a-z0-9*][a-z0-9_.*-]*(:[a-z0-9*][a-z0-9_.*-]*)*$")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}
_GATE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.:-]*)\s*(<=|>=|==|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_KINDS = ("numeric", "categorical", "boolean", "datetime", "identifier", "text")

Text = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True)


class Classification(_Model):
    """A class of data, e.g. ``personal:health`` or ``dual-use:geospatial``."""

    id: Annotated[str, Field(pattern=_CLASS_ID)]
    description: Text


class Hint(_Model):
    """Suggests ``class_`` for columns whose name matches a pattern or whose PII tag is listed (``kinds`` narrows)."""

    class_: Annotated[str, Field(alias="class", pattern=_CLASS_ID)]
    columns: tuple[Text, ...] = ()
    pii: tuple[Text, ...] = ()
    kinds: tuple[Literal[_KINDS], ...] = ()  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _says_something(self) -> Hint:
        if not (self.columns or self.pii or self.kinds):
            raise ValueError("a hint needs at least one of: columns, pii, kinds")
        return self


class EndUse(_Model):
    """A category of end use; ``keywords`` are looked for, as words, in a request's declared end use and purpose."""

    id: Annotated[str, Field(pattern=_NAME)]
    description: Text
    keywords: tuple[Text, ...] = ()


class Destinations(_Model):
    """Where a class may go: ``allow`` codes and groups (``"*"`` for anywhere) minus ``deny``."""

    allow: tuple[Text, ...] = Field(min_length=1)
    deny: tuple[Text, ...] = ()


class Gate(_Model):
    """A minimum evaluation result, written ``"metric op value"`` (e.g. ``"exact_copies == 0"``)."""

    metric: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")]
    op: Literal["<=", "<", ">=", ">", "=="]
    value: float

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _GATE.match(data)
            if not match:
                raise PydanticCustomError(
                    "gate", "expected 'metric op number' such as 'mia_auc <= 0.6' (op: <=, <, >=, >, ==), got '{text}'",
                    {"text": data})
            return {"metric": match[1], "op": match[2], "value": float(match[3])}
        return data

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("the threshold must be a finite number")
        return value

    @classmethod
    def parse(cls, text: str) -> Gate:
        return cls.model_validate(text)

    def passes(self, measured: float) -> bool:
        return bool(_OPS[self.op](measured, self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    @model_serializer
    def _to_text(self) -> str:
        return f"{self.metric} {self.op} {self.value!r}"


class Rule(_Model):
    """What sharing a class takes. ``class_`` may be a pattern (``dual-use:*``); every matching rule applies."""

    class_: Annotated[str, Field(alias="class")]
    destinations: Destinations
    licence_required: bool = False
    prohibited_end_uses: tuple[Text, ...] = ()
    require: tuple[Gate, ...] = ()
    two_person_approval: bool = False
    note: str = ""

    @field_validator("class_")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not _CLASS_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a class id or pattern such as 'personal:health' or 'dual-use:*'")
        return value

    def applies_to(self, class_id: str) -> bool:
        return fnmatch.fnmatchcase(class_id, self.class_)


class Screening(_Model):
    """Denied-party screening: the score threshold, how old a list may be, and which lists must be loaded."""

    threshold: float = Field(default=88.0, gt=0, le=100)
    max_list_age_days: int = Field(ge=0)
    required_lists: tuple[Text, ...] = ()


class Policy(_Model):
    """A whole sharing policy (see docs/sharing.md for the format)."""

    version: int
    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    example: bool = False
    groups: dict[Annotated[str, Field(pattern=_NAME)], tuple[Text, ...]] = {}
    embargo: tuple[Text, ...] = ()
    classifications: tuple[Classification, ...] = Field(min_length=1)
    end_uses: tuple[EndUse, ...] = ()
    hints: tuple[Hint, ...] = ()
    screening: Screening
    rules: tuple[Rule, ...] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != POLICY_VERSION:
            raise ValueError(f"unsupported policy version {value}; this synthgov reads version {POLICY_VERSION}")
        return value

    @model_validator(mode="after")
    def _references(self) -> Policy:
        problems = list(_reference_problems(self))
        if problems:
            path, message = problems[0]
            raise PydanticCustomError("policy_reference", "{message}", {"message": message, "path": list(path)})
        return self

    # -- lookups used by the engine ---------------------------------------------------------
    def classification(self, class_id: str) -> Classification | None:
        return next((c for c in self.classifications if c.id == class_id), None)

    def rules_for(self, class_id: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.applies_to(class_id))

    def end_use(self, end_use_id: str) -> EndUse | None:
        return next((e for e in self.end_uses if e.id == end_use_id), None)

    def expand(self, tokens: tuple[str, ...]) -> frozenset[str]:
        """Country codes named by codes and groups (``"*"`` stays ``"*"``)."""
        out: set[str] = set()
        for token in tokens:
            if token == "*":
                out.add("*")
            elif token in self.groups:
                out.update(code.upper() for code in self.groups[token])
            else:
                out.add(token.upper())
        return frozenset(out)


def _reference_problems(policy: Policy):
    """Yield ``(path, message)`` for every dangling reference, in document order."""
    for name, members in policy.groups.items():
        if is_country_code(name):
            yield ("groups", name), f"group name {name!r} is also a country code; choose another name"
        for i, code in enumerate(members):
            if not is_country_code(code):
                yield ("groups", name, i), f"unknown country code {code!r} (use ISO 3166-1 alpha-2, e.g. FR)"

    def places(path: tuple, tokens: tuple[str, ...], *, star: bool):
        for i, token in enumerate(tokens):
            if token == "*" and star:
                continue
            if token not in policy.groups and not is_country_code(token):
                yield (*path, i), f"unknown country code or group {token!r} (use ISO 3166-1 alpha-2 or a name under groups)"

    yield from places(("embargo",), policy.embargo, star=False)
    ids = [c.id for c in policy.classifications]
    for i, cid in enumerate(ids):
        if cid in ids[:i]:
            yield ("classifications", i, "id"), f"classification {cid!r} is declared twice"
    end_uses = [e.id for e in policy.end_uses]
    for i, eid in enumerate(end_uses):
        if eid in end_uses[:i]:
            yield ("end_uses", i, "id"), f"end use {eid!r} is declared twice"
    for i, hint in enumerate(policy.hints):
        if hint.class_ not in ids:
            yield ("hints", i, "class"), f"hint names undeclared classification {hint.class_!r}"
    for i, rule in enumerate(policy.rules):
        if not any(rule.applies_to(cid) for cid in ids):
            yield ("rules", i, "class"), f"rule class {rule.class_!r} matches no declared classification"
        yield from places(("rules", i, "destinations", "allow"), rule.destinations.allow, star=True)
        yield from places(("rules", i, "destinations", "deny"), rule.destinations.deny, star=False)
        for j, eid in enumerate(rule.prohibited_end_uses):
            if eid not in end_uses:
                yield ("rules", i, "prohibited_end_uses", j), f"undeclared end use {eid!r} (declare it under end_uses)"
    for i, name in enumerate(policy.screening.required_lists):
        if not name.strip():
            yield ("screening", "required_lists", i), "empty list name"
