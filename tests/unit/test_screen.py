"""The poisoning screen: planted poison in real tables is found, clean tables are mostly left alone.

Recall and precision are measured on rows planted into real datasets with fixed seeds. Targets
(from the Accountability issue): recall >= 0.9 at precision >= 0.5 for each planted kind. The
figures on these seeds sit well above both (see the report printed with ``pytest -s``), so the
tolerance to seed changes is the gap between measured and target, not a loosened target.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgov.errors import InputError, ParameterError, SynthgovError
from synthgov.screen import ScreenReport, screen


def _recall_precision(report: ScreenReport, planted: pd.Index, check: str) -> tuple[float, float]:
    flagged = pd.Index([r.index for r in report.rows if check in r.checks])
    hits = len(flagged.intersection(planted))
    return hits / len(planted), (hits / len(flagged) if len(flagged) else 0.0)


def _plant_copies(df: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.Index]:
    """Append ``share`` * len(df) copies of one crafted record (a real row's values with every numeric
    column nudged by half an IQR), each numeric value jittered by N(0, (0.002 IQR)^2); integer
    columns stay whole, as an attacker keeping the table plausible would leave them."""
    rng = np.random.default_rng(seed)
    base = df.iloc[[int(rng.integers(len(df)))]].copy()
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 2]
    iqr = {c: float(df[c].quantile(0.75) - df[c].quantile(0.25)) or 1.0 for c in numeric}
    integer = {c for c in numeric if pd.api.types.is_integer_dtype(df[c])
               or bool((df[c].dropna() % 1 == 0).all())}
    for c in numeric:
        if base[c].notna().all():
            base[c] = base[c] + (round(iqr[c] / 2) if c in integer else iqr[c] / 2)
    n = int(round(share * len(df)))
    copies = pd.concat([base] * n, ignore_index=True)
    for c in numeric:
        if c not in integer:
            copies[c] = copies[c] + rng.normal(0.0, 0.002 * iqr[c], n)
    copies.index = pd.RangeIndex(len(df), len(df) + n)
    return pd.concat([df, copies]), copies.index


def _plant_outliers(df: pd.DataFrame, share: float, seed: int, columns: list[str]) -> tuple[pd.DataFrame, pd.Index]:
    """Set one of ``columns`` in ``share`` of the rows to a value far out of range: 5 to 50 times the
    column's observed range beyond its maximum (or below its minimum), as a unit or sign error
    injected on purpose would be."""
    rng = np.random.default_rng(seed)
    out = df.astype({c: float for c in columns})
    rows = np.sort(rng.choice(len(df), int(round(share * len(df))), replace=False))
    for r in rows:
        c = columns[int(rng.integers(len(columns)))]
        lo, hi = float(df[c].min()), float(df[c].max())
        far = (hi - lo) * rng.uniform(5, 50)
        out.loc[out.index[r], c] = hi + far if rng.random() < 0.5 else lo - far
    return out, df.index[rows]


def test_planted_near_duplicate_copies_are_found_in_cps(cps):
    poisoned, planted = _plant_copies(cps, 0.015, seed=1)
    report = screen(poisoned)
    recall, precision = _recall_precision(report, planted, "near_duplicate")
    print(f"\ncps near-duplicates: planted {len(planted)}, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.5
    assert report.clusters[0]["size"] >= 0.9 * len(planted)


def test_planted_near_duplicate_copies_are_found_in_loans(loans):
    poisoned, planted = _plant_copies(loans, 0.01, seed=2)
    report = screen(poisoned)
    recall, precision = _recall_precision(report, planted, "near_duplicate")
    print(f"\nloans near-duplicates: planted {len(planted)}, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.5


@pytest.mark.parametrize("dataset, columns", [("cps", ["wage", "experience"]),
                                              ("loans", ["annual_income", "loan_amount", "debt_to_income"])])
def test_planted_outliers_are_found(request, dataset, columns):
    df = request.getfixturevalue(dataset)
    poisoned, planted = _plant_outliers(df, 0.01, seed=3, columns=columns)
    report = screen(poisoned)
    recall, precision = _recall_precision(report, planted, "outlier")
    print(f"\n{dataset} outliers: planted {len(planted)}, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.5


def test_flipped_labels_are_found(loans):
    # grade follows interest_rate closely, so a flipped grade disagrees with its neighbours; flips
    # move a row at least two grades away (A->C..G), as an attacker wanting an effect would
    df = loans[["interest_rate", "annual_income", "debt_to_income", "term", "grade"]].copy()
    rng = np.random.default_rng(4)
    rows = np.sort(rng.choice(len(df), 200, replace=False))
    grades = list("ABCDEFG")
    for r in rows:
        current = grades.index(df.iat[r, 4])
        df.iat[r, 4] = grades[int(rng.choice([g for g in range(7) if abs(g - current) >= 2]))]
    planted = df.index[rows]
    report = screen(df, label="grade")
    recall, precision = _recall_precision(report, planted, "label")
    print(f"\nloans flipped grade: planted {len(planted)}, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.9 and precision >= 0.5


@pytest.mark.parametrize("dataset", ["cps", "loans"])
def test_clean_real_data_flags_few_rows(request, dataset):
    # bound: at most 1% of a clean real table flagged (measured well under it on both)
    df = request.getfixturevalue(dataset)
    report = screen(df)
    print(f"\nclean {dataset}: flagged {len(report.rows)} of {len(df)} ({len(report.rows) / len(df):.3%})")
    assert len(report.rows) <= 0.01 * len(df)
    assert report.counts["near_duplicate"] == 0


def test_report_shape_and_no_values_echoed(cps):
    poisoned, planted = _plant_copies(cps, 0.01, seed=5)
    poisoned.loc[10**6] = poisoned.iloc[0]
    poisoned.loc[10**6, "wage"] = 987654321.0
    report = screen(poisoned)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_rows"] == len(poisoned)
    assert data["flagged"] == len(report.rows) == len(report.suspicious)
    assert data["counts"]["label"] is None
    assert 10**6 in report.suspicious
    assert list(report.suspicious) == sorted(report.suspicious, key=list(poisoned.index).index)
    assert all(0 < r.score <= 1 for r in report.rows)
    assert [r.score for r in report.rows] == sorted((r.score for r in report.rows), reverse=True)
    text = json.dumps(data)
    assert "987654321" not in text and "cauc" not in text  # values never echoed, only index labels


def test_hand_worked_outlier_and_cluster():
    # 100 rows x = 0..99 (1st-99th percentile range 98): 1e6 lies far past the fence, 250 does not
    # (250 - 98.01) / 97.02 = 1.6 ranges < 3
    df = pd.DataFrame({"x": np.arange(100, dtype=float)})
    df.loc[100] = 250.0
    df.loc[101] = 1e6
    report = screen(df, min_cluster=2)
    assert list(report.suspicious) == [101]
    # 30 identical copies of (0.5, 0.5, 0.5) among 2000 uniform rows: each copy's cell holds 30 rows
    # where independence predicts 2030 * (30 / 2030)^3 = 0.0066, a lift far above 20
    rng = np.random.default_rng(0)
    df = pd.DataFrame(np.r_[rng.uniform(size=(2000, 3)), np.full((30, 3), 0.5)], columns=list("abc"))
    report = screen(df)
    assert report.counts["near_duplicate"] == 30
    assert set(report.suspicious) == set(range(2000, 2030))
    assert report.clusters == ({"id": 0, "size": 30},)


def test_bad_input_gives_clear_errors(cps):
    with pytest.raises(InputError, match="no rows"):
        screen(cps.iloc[:0])
    with pytest.raises(ParameterError, match="'nope' is not in the table"):
        screen(cps, label="nope")
    with pytest.raises(ParameterError, match="distinct values"):
        screen(cps, label="wage")
    with pytest.raises(ParameterError, match="DataFrame"):
        screen([1, 2, 3])
    with pytest.raises(ParameterError, match="outlier_fence"):
        screen(cps, outlier_fence=-1)
    with pytest.raises(ParameterError, match="min_cluster"):
        screen(cps, min_cluster=True)
    with pytest.raises(TypeError):
        screen(cps, None, "wage")  # keyword-only
    err = pytest.raises(SynthgovError, screen, cps, label="nope").value
    assert err.code == "SG-PARAMETER"


def test_cli_screen_names_the_planted_rows_and_writes_json(tmp_path, cps):
    from typer.testing import CliRunner

    from synthgov.cli import app

    df, planted = _plant_outliers(cps, 0.005, seed=3, columns=["wage"])
    path = tmp_path / "poisoned.csv"
    df.reset_index(drop=True).to_csv(path, index=False)
    out = tmp_path / "screen.json"
    result = CliRunner().invoke(app, ["screen", str(path), "--json", str(out), "--top", "5"])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    flagged = {row["index"] for row in doc["rows"]}
    assert set(planted) <= flagged  # positions equal the CSV row numbers: planted rows kept their index
    assert f"{len(flagged):,} of {len(df):,} rows flagged" in result.output
    bad = CliRunner().invoke(app, ["screen", str(path), "--label", "salary"])
    assert bad.exit_code == 1 and "[SG-PARAMETER]" in bad.output
