"""The policy format: the example loads, malformed files name line and field, dump → load round-trips."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgov.errors import ParameterError, PolicyError
from synthgov.policy import (
    Policy,
    country_code,
    dump_policy,
    example_policy_path,
    load_policy,
    parse_policy,
    policy_sha256,
    suggest_classes,
)
from synthgov.policy.countries import country_codes
from synthgov.policy.schema import Gate
from synthgov.table.infer import schema_for

EXAMPLE = example_policy_path().read_text(encoding="utf-8")


def test_example_policy_is_marked_and_hashed():
    loaded = load_policy(example_policy_path())
    assert loaded.policy.example is True and "EXAMPLE" in loaded.policy.description
    assert loaded.sha256 == policy_sha256(example_policy_path().read_bytes())
    ids = {c.id for c in loaded.policy.classifications}
    assert {"personal:health", "dual-use:geospatial", "military:personnel"} <= ids
    assert "NO" in loaded.policy.groups["EEA-EXTRA"]  # Norway stays a code, not YAML 1.1's False


def test_dump_and_reload_keep_the_policy():
    loaded = load_policy(example_policy_path())
    again = parse_policy(dump_policy(loaded))
    assert again.policy == loaded.policy


def _line_of(snippet: str, text: str = EXAMPLE) -> int:
    return text[: text.index(snippet)].count("\n") + 1


@pytest.mark.parametrize("old, new, field, message", [
    ("    licence_required: true\n    two_person_approval: true\n    prohibited", "    licence_requird: true\n    two_person_approval: true\n    prohibited",
     "rules[3].licence_requird", "unknown field"),
    ('"mia_auc <= 0.55"', '"mia_auc =< 0.55"', "rules[4].require[0]", "expected 'metric op number'"),
    ("max_list_age_days: 30", "max_list_age_days: -3", "screening.max_list_age_days", "greater than or equal to 0"),
    ("  - class: public:open\n    destinations", "  - class: public:opn\n    destinations", "rules[0].class",
     "matches no declared classification"),
    ("version: 1", "version: 2", "version", "unsupported policy version 2"),
    ("IS, LI, NO", "IS, LI, QQ", "groups.EEA-EXTRA[2]", "unknown country code 'QQ'"),
    ("{allow: [PARTNERS-EXAMPLE]}", "{allow: [PARTNERS-EXAMPL]}", "rules[4].destinations.allow[0]", "'PARTNERS-EXAMPL'"),
    ("prohibited_end_uses: [insurance-pricing]", "prohibited_end_uses: [insurance-prizing]",
     "rules[2].prohibited_end_uses[0]", "undeclared end use"),
    ("  - class: personal:financial\n    columns", "  - class: personal:finance\n    columns", "hints[2].class",
     "undeclared classification"),
    ("screening:\n", "screening:\n  threshold: 50\n", "screening.threshold", "duplicate key"),
])
def test_malformed_policy_names_line_and_field(old, new, field, message):
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source="bad.yaml")
    details = err.value.details
    assert details["field"] == field and details["file"] == "bad.yaml"
    expected_line = _line_of(new.strip().splitlines()[0], text)
    if field == "screening.threshold":  # a duplicate is reported at its second occurrence
        expected_line = _line_of("threshold: 88", text)
    assert details["line"] == expected_line
    assert message in err.value.message and f"line {expected_line}" in err.value.message


def test_missing_field_syntax_error_and_missing_file(tmp_path):
    text = EXAMPLE.replace("  max_list_age_days: 30\n", "")
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert err.value.details["field"] == "screening.max_list_age_days"
    assert err.value.details["line"] == _line_of("screening:", text)
    with pytest.raises(PolicyError) as err:
        parse_policy("version: 1\nname: [unclosed\n")
    assert err.value.details["field"] == "(syntax)" and err.value.details["line"] in (2, 3)
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path / "nope.yaml")
    assert err.value.details["code"] == "SG-POLICY-MISSING"
    with pytest.raises(PolicyError):
        parse_policy("- just\n- a list\n")


def test_country_codes():
    assert country_code("gb") == "GB" and len(country_codes()) == 249
    with pytest.raises(ParameterError) as err:
        country_code("UK")
    assert err.value.details["value"] == "UK"


def test_gate_parsing():
    assert Gate.parse("exact_copies == 0").passes(0) and not Gate.parse("exact_copies == 0").passes(1)
    assert Gate.parse("epsilon<=1e0").value == 1.0
    for bad in ("mia_auc <= nan", "mia_auc", "<= 0.6", "mia_auc ~ 0.6"):
        with pytest.raises(ValueError):
            Gate.parse(bad)


def test_suggest_classes_on_real_tables(covid, cps):
    policy = load_policy(example_policy_path())
    covid_suggested = {s.class_id: s for s in suggest_classes(schema_for(covid), policy=policy)}
    assert "personal:general" in covid_suggested  # first_name / last_name carry the PII tag 'name'
    assert "personal:health" in covid_suggested  # column names such as 'patient_class' and 'result'
    assert all(not s.confirmed for s in covid_suggested.values())
    cps_suggested = {s.class_id: s for s in suggest_classes(schema_for(cps), policy=policy)}
    assert cps_suggested["personal:financial"].columns == ("wage",)
    with pytest.raises(ParameterError):
        suggest_classes(covid, policy=policy)


codes = st.sampled_from(sorted(country_codes()))
class_ids = st.from_regex(r"\A[a-z][a-z0-9-]{0,8}:[a-z][a-z0-9-]{0,8}\Z")
words = st.text(alphabet=string.ascii_letters + " ,.-", min_size=1, max_size=30).map(str.strip).filter(bool)


@st.composite
def policies(draw):
    ids = draw(st.lists(class_ids, min_size=1, max_size=5, unique=True))
    groups = draw(st.dictionaries(st.from_regex(r"\A[A-Z][A-Z-]{2,8}\Z"), st.lists(codes, max_size=5).map(tuple), max_size=3))
    places = ["*", *groups, *draw(st.lists(codes, max_size=3))]
    end_uses = draw(st.lists(st.from_regex(r"\A[a-z][a-z-]{1,8}\Z"), max_size=3, unique=True))
    rules = []
    for cid in ids:
        rules.append({
            "class": cid,
            "destinations": {"allow": draw(st.lists(st.sampled_from(places), min_size=1, max_size=3)),
                             "deny": draw(st.lists(st.sampled_from([p for p in places if p != "*"] or ["FR"]), max_size=2))},
            "licence_required": draw(st.booleans()),
            "two_person_approval": draw(st.booleans()),
            "prohibited_end_uses": draw(st.lists(st.sampled_from(end_uses), max_size=2)) if end_uses else [],
            "require": [f"{m} {op} {v!r}" for m, op, v in draw(st.lists(st.tuples(
                st.sampled_from(["mia_auc", "exact_copies", "epsilon"]), st.sampled_from(["<=", "<", ">=", ">", "=="]),
                st.floats(min_value=-10, max_value=10, allow_nan=False, width=32)), max_size=2))],
        })
    return {
        "version": 1, "name": draw(st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z")), "description": draw(words),
        "groups": {k: list(v) for k, v in groups.items()},
        "classifications": [{"id": c, "description": draw(words)} for c in ids],
        "end_uses": [{"id": e, "description": draw(words), "keywords": draw(st.lists(words, max_size=2))} for e in end_uses],
        "hints": [{"class": ids[0], "columns": ["*x*"], "pii": draw(st.lists(st.sampled_from(["name", "email"]), max_size=2))}],
        "screening": {"threshold": draw(st.floats(min_value=50, max_value=100)), "max_list_age_days": draw(st.integers(0, 400)),
                      "required_lists": draw(st.lists(words, max_size=2))},
        "rules": rules,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_policy_round_trip(data):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    first = parse_policy(text)
    dumped = dump_policy(first)
    second = parse_policy(dumped)
    assert second.policy == first.policy == Policy.model_validate(data)
    assert dump_policy(second) == dumped
