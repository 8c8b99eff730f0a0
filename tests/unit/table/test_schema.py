"""TableSchema: frozen, validated, JSON round-trip (property-based), overrides."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov import Column, Inequality, Kind, SchemaError, TableSchema

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10))


@st.composite
def columns(draw, name=None):
    kind = draw(st.sampled_from(list(Kind)))
    lo = draw(st.one_of(st.none(), st.integers(-1000, 1000)))
    hi = None if lo is None else lo + draw(st.integers(0, 1000))
    cats = draw(st.one_of(st.none(), st.lists(st.one_of(st.integers(), st.text(max_size=8), st.booleans()),
                                              unique_by=lambda v: (type(v), v), max_size=6)))
    if cats is not None and len({(v if not isinstance(v, bool) else ("b", v)) for v in cats}) != len(cats):
        cats = None  # 1 == True in Python sets; such lists are rejected by design
    return Column(
        name=name or draw(names), kind=kind, missing_rate=draw(st.floats(0, 1)),
        pii=draw(st.one_of(st.none(), st.sampled_from(["name", "email", "dob", "custom-tag"]))),
        dtype=draw(st.sampled_from([None, "int", "float", "string", "bool", "datetime"])),
        integer=draw(st.booleans()), minimum=lo, maximum=hi,
        decimals=draw(st.one_of(st.none(), st.integers(0, 15))), categories=cats,
        rare_grouped=draw(st.integers(0, 50)), rare_label=draw(st.one_of(st.none(), st.just("(other)"))),
        datetime_format=draw(st.one_of(st.none(), st.just("%Y-%m-%d"))),
        shape=draw(st.one_of(st.none(), st.text(alphabet="9Aa-@.", max_size=12))),
        flags=tuple(draw(st.lists(st.sampled_from(["high-cardinality", "not-modelled", "sequential"]), max_size=3))),
    )


@st.composite
def schemas(draw):
    col_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    cols = tuple(draw(columns(name=n)) for n in col_names)
    return TableSchema(columns=cols, n_rows=draw(st.one_of(st.none(), st.integers(1, 10**7))),
                       rare_threshold=draw(st.integers(1, 100)))


@settings(max_examples=200, deadline=None)
@given(schemas())
def test_json_round_trip_is_exact(schema):
    text = schema.to_json()
    again = TableSchema.from_json(text)
    assert again == schema
    assert again.fingerprint() == schema.fingerprint()
    assert json.loads(again.to_json()) == json.loads(text)


@settings(max_examples=100, deadline=None)
@given(schemas())
def test_fingerprint_changes_with_any_column_change(schema):
    first = schema.columns[0]
    changed = schema.with_column(first.name, missing_rate=0.5 if first.missing_rate != 0.5 else 0.25)
    assert changed.fingerprint() != schema.fingerprint()


def test_schema_is_frozen():
    schema = TableSchema(columns=(Column(name="a", kind="numeric"),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema.columns = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        schema["a"].kind = Kind.TEXT  # type: ignore[misc]


def test_with_column_override_changes_kind_and_clears_old_facts():
    schema = TableSchema(columns=(Column(name="zip", kind="numeric", integer=True, minimum=1000, maximum=99999),))
    new = schema.with_column("zip", kind="categorical", pii="location")
    assert new["zip"].kind is Kind.CATEGORICAL and new["zip"].pii == "location"
    assert new["zip"].minimum is None and new["zip"].integer is False
    assert schema["zip"].kind is Kind.NUMERIC  # the original is untouched


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"name": "a", "kind": "numberish"}, "unknown kind"),
        ({"name": "a", "kind": "numeric", "missing_rate": 1.5}, "missing_rate"),
        ({"name": "a", "kind": "numeric", "minimum": 5, "maximum": 1}, "above maximum"),
        ({"name": "a", "kind": "categorical", "categories": ("x", "x")}, "duplicates"),
        ({"name": "", "kind": "numeric"}, "non-empty"),
        ({"name": "a", "kind": "numeric", "minimum": float("nan")}, "finite"),
    ],
)
def test_invalid_columns_are_refused_with_the_reason(kwargs, fragment):
    with pytest.raises(SchemaError, match=fragment) as info:
        Column(**kwargs)
    assert info.value.code == "SG-SCHEMA"


def test_duplicate_names_and_unknown_constraint_columns_are_refused():
    col = Column(name="a", kind="numeric")
    with pytest.raises(SchemaError, match="duplicate column name"):
        TableSchema(columns=(col, col))
    with pytest.raises(SchemaError, match="unknown column"):
        TableSchema(columns=(col,), constraints=(Inequality(low="a", high="b"),))


def test_constraints_round_trip_through_json():
    schema = TableSchema(columns=(Column(name="a", kind="numeric"), Column(name="b", kind="numeric")),
                         constraints=({"type": "inequality", "low": "a", "high": "b"},))
    again = TableSchema.from_json(schema.to_json())
    assert again.constraints == (Inequality(low="a", high="b"),)


def test_from_dict_refuses_unknown_fields_and_formats():
    with pytest.raises(SchemaError, match="format"):
        TableSchema.from_dict({"columns": [{"name": "a", "kind": "numeric"}]})
    doc = TableSchema(columns=(Column(name="a", kind="numeric"),)).to_dict()
    doc["columns"][0]["colour"] = "red"
    with pytest.raises(SchemaError, match="unknown field"):
        TableSchema.from_dict(doc)


def test_save_and_load(tmp_path):
    schema = TableSchema(columns=(Column(name="a", kind="numeric", minimum=0, maximum=3),))
    path = tmp_path / "schema.json"
    schema.save(path)
    assert TableSchema.load(path) == schema
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]  # no temp file left behind


def test_with_column_refuses_unknown_kinds_and_fields():
    schema = TableSchema(columns=(Column(name="wage", kind="numeric"),))
    with pytest.raises(SchemaError, match="unknown kind 'money'"):
        schema.with_column("wage", kind="money")
    with pytest.raises(SchemaError, match="unknown column field"):
        schema.with_column("wage", colour="red")
    with pytest.raises(SchemaError, match="no column 'salary'"):
        schema.with_column("salary", kind="numeric")
