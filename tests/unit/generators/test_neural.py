"""NeuralSynthesizer: contract, reproducibility, save/load, conditions, modes, statistical sanity, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

pytest.importorskip("torch")

import synthgov as sg  # noqa: E402
from synthgov.generators.base import _digest  # noqa: E402
from synthgov.testing import check_synthesizer  # noqa: E402

FAST = {"epochs": 2, "hidden": 32}


@pytest.fixture(scope="module")
def cps() -> pd.DataFrame:
    # a random subset: the bundled file is sorted by region
    return sg.datasets.load_cps1988().sample(4000, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(cps) -> sg.NeuralSynthesizer:
    return sg.NeuralSynthesizer(random_state=0, epochs=8, hidden=64).fit(cps)


def test_passes_the_conformance_suite():
    passed = check_synthesizer(sg.NeuralSynthesizer, rows=1500, params=FAST)
    assert set(passed) >= {"keyword-only", "registered", "reproducible", "save-load", "conditions", "sample-kinds"}


def test_registered_and_made_by_name():
    syn = sg.synthesizer("neural", random_state=2, epochs=3)
    assert isinstance(syn, sg.NeuralSynthesizer) and syn.epochs == 3


def test_parameters_are_validated():
    with pytest.raises(TypeError):
        sg.NeuralSynthesizer(0)  # type: ignore[misc]
    for kwargs in ({"epochs": 0}, {"hidden": 2}, {"learning_rate": 0}, {"flexible": 1.5}, {"threads": 0},
                   {"validation_share": 0.9}, {"batch_size": "big"}):
        with pytest.raises(sg.ParameterError):
            sg.NeuralSynthesizer(**kwargs)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_epsilon_is_refused(bad):
    with pytest.raises(sg.ParameterError, match="epsilon"):
        sg.NeuralSynthesizer(epsilon=bad)


def test_marginals_and_a_dependence_are_learned(cps, fitted):
    out = fitted.sample(len(cps), random_state=1)
    # KS at n = m = 4000: the 1% critical value is ~0.036; a learned marginal sits well inside 0.06
    for col in ("wage", "education", "experience"):
        assert ks_2samp(cps[col], out[col]).statistic < 0.06, col
    for col in ("region", "ethnicity", "parttime"):
        tv = 0.5 * (cps[col].value_counts(normalize=True) - out[col].value_counts(normalize=True)).abs().sum()
        assert tv < 0.04, col
    # education raises log wage (rank correlation ~0.3 in the data); the model must keep most of it
    real_r = cps["education"].corr(np.log(cps["wage"]), method="spearman")
    syn_r = out["education"].corr(np.log(out["wage"]), method="spearman")
    assert abs(syn_r - real_r) < 0.08, (real_r, syn_r)
    # part-timers earn less: the conditional structure, not just marginals
    assert out.loc[out.parttime == "yes", "wage"].median() < 0.6 * out.loc[out.parttime == "no", "wage"].median()


def test_training_stops_early_and_reports_loss(cps):
    stages = []
    syn = sg.NeuralSynthesizer(random_state=0, epochs=200, patience=2, hidden=32, learning_rate=0.02)
    syn.fit(cps.iloc[:1500], progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert syn.training_["epochs"] < 200, "early stopping never triggered"
    assert all(s.startswith("fit · loss ") for s, _, _ in stages) and stages[-1][2] == 200
    assert syn.privacy_ is None


def test_conditions_equality_range_and_missing(fitted):
    out = fitted.sample(300, conditions={"region": "west", "education": 16}, random_state=3)
    assert (out["region"] == "west").all() and (out["education"] == 16).all()
    out = fitted.sample(300, conditions={"wage": (300, 400.5), "parttime": "yes"}, random_state=4)
    assert out["wage"].between(300, 400.5).all() and (out["parttime"] == "yes").all()
    out = fitted.sample(50, conditions={"wage": 512.25}, random_state=4)
    assert (out["wage"] == 512.25).all()
    with pytest.raises(sg.ConditionError, match="never missing"):
        fitted.sample(5, conditions={"region": None})
    with pytest.raises(sg.ConditionError, match="never takes"):
        fitted.sample(5, conditions={"region": "mars"})
    with pytest.raises(sg.ConditionError, match="outside the range"):
        fitted.sample(5, conditions={"education": 99})
    with pytest.raises(sg.ConditionError, match="low above high"):
        fitted.sample(5, conditions={"wage": (500, 100)})


def test_a_condition_shifts_the_other_columns_like_the_data(cps, fitted):
    # conditioned columns are drawn first: the rest must follow the conditional distribution
    out = fitted.sample(2000, conditions={"parttime": "yes"}, random_state=5)
    real = cps.loc[cps.parttime == "yes", "wage"]
    assert ks_2samp(real, out["wage"]).statistic < 0.12  # ~300 real part-timers: 1% critical value ~0.10


def test_partial_hybrid_and_rebalance_work(cps, fitted):
    real = cps.iloc[:400].reset_index(drop=True)
    part = sg.partial(real, columns=["wage"], synthesizer=fitted, random_state=0)
    assert (part.drop(columns="wage") == real.drop(columns="wage")).all().all()
    assert not (part["wage"] == real["wage"]).all()
    # per-row conditioning on all other columns: part-timers keep lower wages
    assert part.loc[part.parttime == "yes", "wage"].median() < part.loc[part.parttime == "no", "wage"].median()
    mix = sg.hybrid(real, fitted.sample(400, random_state=0), share=0.25, random_state=0)
    assert int(mix["_synthetic"].sum()) == 100
    reb = sg.rebalance(real, fitted, column="ethnicity", target="uniform", random_state=0)
    counts = reb["ethnicity"].value_counts()
    assert counts["afam"] == counts["cauc"]
    assert (reb.loc[reb._synthetic & (reb.ethnicity == "afam")].shape[0]) == counts["afam"] - (real.ethnicity == "afam").sum()


def test_save_load_round_trip_and_newer_format_refused(tmp_path, fitted):
    path = fitted.save(tmp_path / "m")
    loaded = sg.load_synthesizer(path)
    a = fitted.sample(300, conditions={"region": "south"}, random_state=9)
    b = loaded.sample(300, conditions={"region": "south"}, random_state=9)
    pd.testing.assert_frame_equal(a, b)
    doc = json.loads((path / "synthesizer.json").read_text())
    doc["state"]["neural_format"] += 1
    doc["sha256"] = _digest(doc)  # a genuine file from a newer version, not a tampered one
    (path / "synthesizer.json").write_text(json.dumps(doc))
    with pytest.raises(sg.ModelFileError, match="newer"):
        sg.load_synthesizer(path)


def test_same_seed_same_rows_and_the_stream_continues(cps):
    a = sg.NeuralSynthesizer(random_state=5, **FAST).fit(cps.iloc[:800])
    b = sg.NeuralSynthesizer(random_state=5, **FAST).fit(cps.iloc[:800])
    pd.testing.assert_frame_equal(a.sample(200), b.sample(200))
    pd.testing.assert_frame_equal(a.sample(200), b.sample(200))
    assert not a.sample(200).equals(a.sample(200))


def test_missing_values_and_datetimes_are_modelled():
    rng = np.random.default_rng(0)
    n = 1500
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    x = rng.normal(50, 10, n).round(2)
    x[rng.random(n) < 0.2] = np.nan
    df = pd.DataFrame({"day": day, "x": x, "g": rng.choice(["a", "b", "c"], n)})
    syn = sg.NeuralSynthesizer(random_state=0, **FAST).fit(df)
    out = syn.sample(n, random_state=0)
    assert abs(out["x"].isna().mean() - 0.2) < 0.05  # binomial sd ~0.01 on each side
    assert pd.api.types.is_datetime64_any_dtype(out["day"])
    assert out["day"].between(df["day"].min(), df["day"].max()).all()
    only_missing = syn.sample(50, conditions={"x": None}, random_state=1)
    assert only_missing["x"].isna().all()


def test_dp_sgd_reports_its_account(cps):
    data = cps.iloc[:600]
    schema = sg.TableSchema.infer(data)  # declared public for the test
    syn = sg.NeuralSynthesizer(random_state=0, epsilon=3.0, epochs=1, hidden=16, batch_size=64)
    syn.fit(data, schema=schema)
    acc = syn.privacy_
    assert acc is not None and acc.mechanism == "DP-SGD" and acc.neighbouring == "add/remove one row"
    assert 0 < acc.epsilon <= 3.0 and acc.delta == syn.delta
    dp_step = next(s for s in acc.steps if s["step"] == "DP-SGD")
    assert dp_step["steps"] == round(600 / 64) and dp_step["noise_multiplier"] > 0.2
    out = syn.sample(100, random_state=0)
    assert len(out) == 100 and set(out["region"]) <= set(data["region"])


def test_dp_needs_a_declared_schema_and_a_useful_budget(cps):
    data = cps.iloc[:300]
    with pytest.raises(sg.ParameterError, match="schema"):
        sg.NeuralSynthesizer(epsilon=1.0, epochs=1).fit(data)
    with pytest.raises(sg.PrivacyBudgetError, match="too small") as err:
        sg.NeuralSynthesizer(epsilon=0.001, epochs=5, batch_size=16).fit(data, schema=sg.TableSchema.infer(data))
    needed = err.value.details["needed_epsilon"]
    assert needed > 0.001 and f"{needed:.3g}" in err.value.hint


def test_without_torch_the_package_imports_and_names_the_extra(tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('No module named torch (blocked for the test)')\n")
    code = textwrap.dedent("""
        import synthgov as sg
        try:
            sg.NeuralSynthesizer(epochs=1)
        except sg.DependencyError as exc:
            print(exc.code, '|', exc.hint)
        else:
            print('no error')
    """)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "SG-DEPENDENCY | pip install 'synthgov[neural]'"


def test_cli_bar_shows_the_loss_on_one_bar_per_stage(monkeypatch):
    from synthgov import cli

    monkeypatch.setenv("SYNTHGOV_PROGRESS", "1")
    bar = cli._Progress(delay=0)
    try:
        bar("fit · loss 2.000", 1, 5)
        bar("fit · loss 1.500", 2, 5)
        bar("sample", 1, 1)
        assert len(bar.tasks) == 2
        fit_task = bar.bar.tasks[0]
        assert fit_task.description == "fit · loss 1.500" and fit_task.completed == 2
    finally:
        bar.close()
