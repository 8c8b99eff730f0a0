"""The error tree: one root, stable unique codes, JSON-friendly."""

from __future__ import annotations

import json

import synthgov as sg
from synthgov import errors

# Codes are a public contract: scripts match on them. Changing one is a breaking change.
STABLE = {
    "SG-ERROR", "SG-PARAMETER", "SG-INPUT", "SG-SCHEMA", "SG-NOT-FITTED", "SG-CONDITION", "SG-CONSTRAINT",
    "SG-MODEL-FILE", "SG-OUTPUT", "SG-PRIVACY-BUDGET", "SG-INTEGRITY", "SG-POLICY-DENIED", "SG-KEY",
    "SG-POLICY", "SG-NOT-FOUND", "SG-CATALOG", "SG-LINEAGE-DEPTH", "SG-DEPENDENCY",
}


def all_error_classes():
    out, stack = [], [errors.SynthgovError]
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return out


def test_codes_are_unique_and_stable():
    classes = all_error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert STABLE <= set(codes)
    assert set(errors.error_codes()) == set(codes)


def test_every_error_is_exported_and_rooted():
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, sg.SynthgovError)
            assert getattr(sg, name) is obj


def test_to_dict_is_json():
    err = sg.SchemaError("column 'x' is bad", hint="fix it", details={"column": "x"})
    assert json.loads(json.dumps(err.to_dict())) == {
        "code": "SG-SCHEMA", "message": "column 'x' is bad", "hint": "fix it", "details": {"column": "x"},
    }


def test_value_errors_stay_catchable_as_value_error():
    assert issubclass(sg.InputError, ValueError) and issubclass(sg.ConditionError, ValueError)
