"""The evaluation core: input checks, the holdout split, the metric contract, the runner and the report JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgov as sg
from synthgov.evaluate import EvalData, Metric, MetricResult, NotComputed, Report, holdout_split
from synthgov.evaluate import base as metric_base
from synthgov.evaluate.data import MIN_HOLDOUT_ROWS


class _RowRatio(Metric):
    """A plugin-style metric: defined outside the package, registered like any other."""

    name = "test_row_ratio"
    family = "diversity"
    goal = "maximize"
    definition = "Rows of the smaller of real and synthetic over rows of the larger."
    source = "this test"
    threshold = 0.9

    def compute(self, data):
        a, b = len(data.real), len(data.synthetic)
        return MetricResult(value=min(a, b) / max(a, b), details={"real": a, "synthetic": b})


class _HoldoutRows(Metric):
    name = "test_holdout_rows"
    family = "privacy"
    goal = "minimize"
    range = (0.0, float("inf"))
    definition = "Number of holdout rows (needs a holdout)."
    source = "this test"
    needs = frozenset({"holdout"})

    def compute(self, data):
        return MetricResult(value=len(data.holdout))


class _Refuses(Metric):
    name = "test_refuses"
    family = "fidelity"
    definition = "Always explains why it cannot be computed."
    source = "this test"

    def compute(self, data):
        raise NotComputed("the planted reason")


@pytest.fixture()
def plugins():
    """Register the test metrics for one test only, then restore the registry."""
    metric_base.available_metrics()  # load the built-ins first, so they are restored too
    saved = dict(metric_base._REGISTRY)
    for cls in (_RowRatio, _HoldoutRows, _Refuses):
        sg.register_metric(cls)
    yield ["test_row_ratio", "test_holdout_rows", "test_refuses"]
    metric_base._REGISTRY.clear()
    metric_base._REGISTRY.update(saved)


# -- the holdout split -------------------------------------------------------------------
def test_holdout_split_is_seeded_disjoint_and_complete(cps_small):
    train, hold = holdout_split(cps_small, fraction=0.25, random_state=3)
    again, hold_again = holdout_split(cps_small, fraction=0.25, random_state=3)
    assert train.index.equals(again.index) and hold.index.equals(hold_again.index)
    assert len(hold) == 500 and len(train) == 1500
    assert set(train.index).isdisjoint(hold.index)
    assert sorted(set(train.index) | set(hold.index)) == list(cps_small.index)
    other, _ = holdout_split(cps_small, fraction=0.25, random_state=4)
    assert not other.index.equals(train.index)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, "0.2", True])
def test_holdout_split_refuses_bad_fraction(cps_small, fraction):
    with pytest.raises(sg.ParameterError, match="fraction"):
        holdout_split(cps_small, fraction=fraction)


def test_evaluate_splits_the_same_holdout_and_says_so(cps_small, plugins):
    report = sg.evaluate(cps_small, cps_small.head(300), metrics=plugins)
    train, hold = holdout_split(cps_small, fraction=0.2, random_state=0)
    assert report.inputs["holdout_source"] == "split"
    assert report.inputs["rows"] == {"real": len(train), "synthetic": 300, "holdout": len(hold)}
    assert report["test_holdout_rows"].value == len(hold)
    assert any("no holdout was given" in note and "holdout_split" in note for note in report.notes)


def test_given_holdout_is_used_as_is(cps_small, plugins):
    train, hold = holdout_split(cps_small, fraction=0.2, random_state=9)
    report = sg.evaluate(train, cps_small.head(100), holdout=hold, metrics=plugins)
    assert report.inputs["holdout_source"] == "given"
    assert report["test_holdout_rows"].value == len(hold)
    assert not any("no holdout" in note for note in report.notes)


def test_too_small_holdout_skips_only_what_needs_it(cps_small, plugins):
    report = sg.evaluate(cps_small, cps_small.head(100), holdout=cps_small.tail(MIN_HOLDOUT_ROWS - 1), metrics=plugins)
    assert report["test_holdout_rows"].value is None
    assert f"{MIN_HOLDOUT_ROWS - 1} rows" in report["test_holdout_rows"].reason
    assert report["test_row_ratio"].value == pytest.approx(100 / len(cps_small))
    assert report.verdict_of("test_holdout_rows") == "not computed"


def test_tiny_real_table_gets_no_holdout_and_a_note(cps_small, plugins):
    small = cps_small.head(2 * MIN_HOLDOUT_ROWS - 1)
    report = sg.evaluate(small, small, metrics=plugins)
    assert report.inputs["rows"]["holdout"] is None
    assert "needs a real holdout" in report["test_holdout_rows"].reason
    assert any("too few to split" in note for note in report.notes)


# -- bad input ---------------------------------------------------------------------------
def test_different_columns_are_named(cps_small, plugins):
    synth = cps_small.drop(columns=["wage"]).assign(salary=1.0)
    with pytest.raises(sg.InputError) as info:
        sg.evaluate(cps_small, synth, metrics=plugins)
    assert "'wage'" in info.value.message and "'salary'" in info.value.message
    assert info.value.details == {"only_real": ["wage"], "only_synthetic": ["salary"]}


def test_holdout_with_other_columns_is_refused(cps_small, plugins):
    with pytest.raises(sg.InputError, match="holdout"):
        sg.evaluate(cps_small, cps_small, holdout=cps_small[["wage"]], metrics=plugins)


@pytest.mark.parametrize("role", ["sensitive", "quasi_identifiers", "secrets"])
def test_unknown_role_column_is_named(cps_small, plugins, role):
    with pytest.raises(sg.ParameterError) as info:
        sg.evaluate(cps_small, cps_small, metrics=plugins, **{role: ["ethnicity", "racee"]})
    assert "'racee'" in info.value.message and "ethnicity" in info.value.hint


def test_unknown_target_is_named(cps_small, plugins):
    with pytest.raises(sg.ParameterError, match="'salary'"):
        sg.evaluate(cps_small, cps_small, target="salary", metrics=plugins)


def test_synthetic_column_of_another_type_is_refused(cps_small, plugins):
    synth = cps_small.assign(wage="high")
    with pytest.raises(sg.InputError, match="column 'wage' of the synthetic table"):
        sg.evaluate(cps_small, synth, metrics=plugins)


def test_infinite_values_in_the_synthetic_or_holdout_table_are_refused(cps_small):
    synth = cps_small.copy()
    synth.loc[synth.index[:3], "wage"] = -np.inf
    with pytest.raises(sg.InputError, match="column 'wage' of the synthetic table holds 3 infinite"):
        sg.evaluate(cps_small, synth, metrics=["range_coverage"])
    hold = cps_small.head(100).copy()
    hold.loc[hold.index[:2], "wage"] = np.inf
    with pytest.raises(sg.InputError, match="column 'wage' of the holdout table holds 2 infinite"):
        sg.evaluate(cps_small, cps_small, holdout=hold, metrics=["range_coverage"])


def test_empty_tables_are_refused(cps_small, plugins):
    with pytest.raises(sg.InputError, match="synthetic table has no rows"):
        sg.evaluate(cps_small, cps_small.head(0), metrics=plugins)


def test_unknown_metric_and_bad_threshold_are_refused(cps_small, plugins):
    with pytest.raises(sg.ParameterError, match="unknown metric or family 'fidelty'"):
        sg.evaluate(cps_small, cps_small, metrics=["fidelty"])
    with pytest.raises(sg.ParameterError, match="unknown metric 'nope'"):
        sg.evaluate(cps_small, cps_small, metrics=plugins, thresholds={"nope": 1})
    with pytest.raises(sg.ParameterError, match="must be a number"):
        sg.evaluate(cps_small, cps_small, metrics=plugins, thresholds={"test_row_ratio": "high"})


# -- conversion --------------------------------------------------------------------------
def test_conversion_aligns_types_and_sets_aside_what_is_not_compared():
    real = pd.DataFrame({
        "when": pd.to_datetime(["2024-01-01", "2024-01-02", None] * 40),
        "flag": [True, False, True] * 40,
        "n": [1, 2, 3] * 40,
        "code": [f"ID{i:05d}" for i in range(120)],
    })
    synth = pd.DataFrame({
        "when": ["2024-01-01", "2024-01-03", None] * 10,
        "flag": ["True", "False", "False"] * 10,
        "n": ["1", "2", None] * 10,
        "code": [f"ID{i:05d}" for i in range(30)],
        "_synthetic": [True] * 30,
    })
    data = EvalData.prepare(real, synth)
    assert "code" in data.excluded and "identifier" in data.excluded["code"]
    assert data.columns == ["when", "flag", "n"]
    assert data.synthetic["when"].iloc[1] == pytest.approx(pd.Timestamp("2024-01-03", tz="UTC").timestamp())
    assert np.isnan(data.synthetic["when"].iloc[2])
    assert set(data.real["flag"]) == set(data.synthetic["flag"]) == {"True", "False"}
    assert data.synthetic["n"].dtype == float and data.synthetic["n"].isna().sum() == 10
    assert any("_synthetic" in note for note in data.notes)


def test_datetimes_written_with_and_without_a_zone_or_all_missing_are_compared(flights_sample):
    # a peer's output may write some timestamps naive and some with a zone, or leave a column empty
    real = flights_sample[["time_hour", "carrier", "dep_delay"]].head(2000).reset_index(drop=True)
    parsed = pd.to_datetime(real["time_hour"], utc=True)
    synth = real.copy()
    synth["time_hour"] = np.where(np.arange(len(real)) % 2 == 0, parsed.dt.strftime("%Y-%m-%d %H:%M:%S"),
                                  parsed.dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%dT%H:%M:%S%z"))
    data = EvalData.prepare(real, synth)
    # every form names the same instant: the converted columns are equal
    np.testing.assert_array_equal(data.synthetic["time_hour"].to_numpy(), ((parsed - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(float))
    empty = real.assign(time_hour=None)
    report = sg.evaluate(real, empty, metrics=["missing_similarity"], catalog=False)
    # an all-missing column is compared, not a crash: time_hour (never missing in real) scores 0
    assert report["missing_similarity"].details["columns"]["time_hour"]["score"] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                             max_value=pd.Timestamp("2200-01-01").to_pydatetime()), min_size=1, max_size=20),
       st.lists(st.sampled_from(["naive", "Z", "+05:30", "-08:00", "missing"]), min_size=1, max_size=20))
def test_parsed_datetimes_do_not_depend_on_how_the_zone_is_written(moments, forms):
    from datetime import timedelta

    from synthgov.table.infer import parse_datetimes

    moments = [pd.Timestamp(m).floor("s") for m in moments]
    offsets = {"naive": None, "Z": timedelta(0), "+05:30": timedelta(hours=5, minutes=30), "-08:00": timedelta(hours=-8)}
    text, expect = [], []
    for i, m in enumerate(moments):
        form = forms[i % len(forms)]
        if form == "missing":
            text.append(None)
            expect.append(pd.NaT)
        elif offsets[form] is None:
            text.append(m.strftime("%Y-%m-%d %H:%M:%S"))
            expect.append(m)
        else:
            local = m + offsets[form]  # m is the UTC instant; written as local wall time with its offset
            text.append(local.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if form == "Z" else form))
            expect.append(m)
    got = parse_datetimes(pd.Series(text, dtype=object), None)
    assert got.dtype == "datetime64[ns]"
    assert got.tolist() == expect


def test_distance_encoder_is_gower_like():
    real = pd.DataFrame({"x": [0.0, 10.0, 5.0, None], "c": ["a", "b", "a", None]})
    data = EvalData.prepare(real, real)
    encode = data.distance_encoder()
    m = encode(pd.DataFrame({"x": [0.0, 10.0, 0.0], "c": ["a", "a", "b"]}))
    dist = lambda i, j: float(np.sqrt(((m[i] - m[j]) ** 2).sum()))  # noqa: E731
    assert dist(0, 1) == pytest.approx(1.0)  # the whole range apart, same category
    assert dist(0, 2) == pytest.approx(1.0)  # same number, other category: mismatch counts 1
    assert dist(1, 2) == pytest.approx(np.sqrt(2.0))


def test_metric_streams_are_independent_and_seeded(cps_small):
    data = EvalData.prepare(cps_small, cps_small, random_state=5)
    again = EvalData.prepare(cps_small, cps_small, random_state=5)
    assert data.rng("a").random() == again.rng("a").random()
    assert data.rng("a").random() != data.rng("b").random()


# -- the metric contract and registry ------------------------------------------------------
def test_metric_declarations_are_checked():
    with pytest.raises(TypeError, match="family must be one of"):
        class _Bad(Metric):  # noqa: F841
            name = "bad"
            family = "vibes"
            definition = "x"
            source = "y"

            def compute(self, data):
                return MetricResult(value=0.0)
    with pytest.raises(TypeError, match="definition and source"):
        class _NoSource(Metric):  # noqa: F841
            name = "nosource"
            family = "fidelity"
            definition = "x"

            def compute(self, data):
                return MetricResult(value=0.0)


def test_results_refuse_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        MetricResult(value=float("nan"))


def test_not_computed_reason_reaches_the_report(cps_small, plugins):
    report = sg.evaluate(cps_small, cps_small, metrics=["test_refuses"])
    assert report["test_refuses"].value is None and report["test_refuses"].reason == "the planted reason"


def test_families_select_metrics_and_thresholds_override(cps_small, plugins):
    report = sg.evaluate(cps_small, cps_small.head(50), metrics=["test_row_ratio"],
                         thresholds={"test_row_ratio": 0.001})
    assert list(report.results) == ["test_row_ratio"]
    assert report.thresholds["test_row_ratio"] == 0.001 and report.verdict == "pass"
    strict = sg.evaluate(cps_small, cps_small.head(50), metrics=["test_row_ratio"])
    assert strict.verdict_of("test_row_ratio") == "fail" and strict.verdict == "fail"
    removed = sg.evaluate(cps_small, cps_small.head(50), metrics=["test_row_ratio"], thresholds={"test_row_ratio": None})
    assert removed.verdicts == {} and removed.verdict_of("test_row_ratio") == "info"


def test_progress_is_reported_per_metric(cps_small, plugins):
    calls = []
    report = sg.evaluate(cps_small, cps_small, metrics=plugins, progress=lambda *a: calls.append(a))
    assert calls == [(name, i + 1, 3) for i, name in enumerate(report.results)]
    assert sorted(report.results) == sorted(plugins)


def test_builtin_families_register_through_entry_points():
    families = {m.family for m in sg.available_metrics().values()}
    assert families == set(sg.FAMILIES)
    for definition in sg.metric_definitions():
        assert definition["definition"] and definition["source"]


# -- the report's JSON --------------------------------------------------------------------
def test_report_json_round_trips_and_keeps_its_format(cps_small, plugins, tmp_path):
    report = sg.evaluate(cps_small, cps_small.head(500), metrics=plugins)
    path = tmp_path / "r.json"
    text = report.to_json(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "synthgov.report/1"
    assert {"threat_model", "disclaimer", "privacy", "notes", "metrics", "inputs", "verdict"} <= set(doc)
    assert "No formal privacy guarantee" in doc["privacy"]["statement"]
    back = Report.from_json(path)
    assert back.to_json() == text
    assert Report.from_json(text).results == report.results


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(value=st.none() | st.floats(-1e6, 1e6), low=st.floats(-1e6, 1e6), width=st.floats(0, 1e6),
       details=st.dictionaries(st.text(max_size=8), _json_values, max_size=4), reason=st.none() | st.text(max_size=40))
def test_any_result_round_trips_through_json(value, low, width, details, reason):
    definition = _RowRatio().definition_dict()
    ci = None if value is None else (low, low + width)
    report = Report(results={"test_row_ratio": MetricResult(value=value, ci=ci, details=details, reason=reason)},
                    definitions={"test_row_ratio": definition}, thresholds={"test_row_ratio": 0.5},
                    inputs={"rows": {"real": 1}}, created="2026-11-23T00:00:00+00:00", synthgov_version="x")
    back = Report.from_json(report.to_json())
    assert back.results == report.results
    assert back.to_dict() == report.to_dict()


def test_reading_something_else_is_refused(tmp_path):
    with pytest.raises(sg.InputError, match="not a synthgov evaluation report"):
        Report.from_json('{"format": "other"}')
    with pytest.raises(sg.InputError, match="no report at"):
        Report.from_json(tmp_path / "missing.json")


def test_privacy_statement_never_claims_more_than_the_generator_gives(cps_small, plugins):
    syn = sg.CopulaSynthesizer(random_state=0).fit(cps_small)
    report = sg.evaluate(cps_small, syn.sample(200), synthesizer=syn, metrics=plugins)
    assert report.privacy is None
    assert report.privacy_statement.startswith("No formal privacy guarantee")
    dp = Report(results={}, definitions={}, thresholds={}, inputs={},
                privacy=sg.PrivacyAccount(epsilon=1.0, delta=1e-6, mechanism="Laplace").to_dict())
    assert "epsilon = 1" in dp.privacy_statement and "delta = 1e-06" in dp.privacy_statement


def test_the_evaluation_guide_lists_every_builtin_metric():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[3] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    missing = [name for name in sg.available_metrics() if f"`{name}`" not in guide]
    assert not missing, f"docs/evaluation.md does not describe: {missing}"
