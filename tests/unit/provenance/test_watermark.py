"""The keyed watermark: exact formulas on hand-built tables, then detection and robustness on real data."""

from __future__ import annotations

import hashlib
import hmac
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgov as sg
from synthgov.errors import InputError, ParameterError
from synthgov.provenance import watermark as wm
from synthgov.provenance.watermark import detect, detect_many, embed

KEY = "test-release-key"
N_KEYS = 1000


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def release():
    """(real, schema, synthetic, marked): 10,000 copula rows fitted on CPS1988 (the `cps` fixture's table).

    Module-scoped so the synthesizer is fitted once; the data is the bundled AER/CPS1988 that the
    `cps` fixture in tests/conftest.py also returns.
    """
    from synthgov.datasets import load_cps1988

    real = load_cps1988()
    syn = sg.CopulaSynthesizer(random_state=0).fit(real)
    synthetic = syn.sample(10_000, random_state=0)
    return real, syn.schema_, synthetic, embed(synthetic, KEY, schema=syn.schema_)


def _distinct_pairs(n: int, start: float = 1000.5) -> pd.DataFrame:
    """n values one apart above 1000: with digit 4 the width is 1 and every value has its own pair."""
    return pd.DataFrame({"x": start + 2.0 * np.arange(n)})


# -- exact pieces ---------------------------------------------------------------------
def test_siphash_matches_the_reference_vector():
    # SipHash-2-4 reference vectors (Aumasson & Bernstein): key 00..0f, message 00..07 -> 0x93f5f5799a932462
    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    message = int.from_bytes(bytes(range(8)), "little")
    assert int(wm._siphash24(k0, k1, message)) == 0x93F5F5799A932462
    # broadcasting over keys x messages gives the same value as one at a time
    grid = wm._siphash24(np.array([[k0], [k1]], dtype=np.uint64), np.array([[k1], [k0]], dtype=np.uint64),
                         np.array([[message, 7]], dtype=np.uint64), block=3)
    assert int(grid[0, 0]) == 0x93F5F5799A932462
    assert int(grid[1, 1]) == int(wm._siphash24(k1, k0, 7))


def test_key_is_derived_with_hmac_sha256():
    digest = hmac.new(b"s3cret", b"synthgov.watermark/v1", hashlib.sha256).digest()
    expected = (int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:16], "little"))
    assert wm._derive(b"s3cret") == expected
    assert wm._derive("s3cret") == expected  # text is UTF-8 encoded
    assert wm._derive("s3cret!") != expected


def test_intervals_hand_worked():
    x = np.array([354.94, -354.94, 1000.0, 999.99, 0.0, np.nan, 0.001234])
    ok, ids, half, width = wm._cells(x, 4, 0.01)
    # 354.94: 4th significant digit is tenths -> width 0.1, interval 3549 -> pair 1774, upper half
    assert ok.tolist() == [True, True, True, True, False, False, False]  # 0.001234 needs width 1e-6 < 0.01
    assert width[:4].tolist() == pytest.approx([0.1, 0.1, 1.0, 0.1])
    assert half[:4].tolist() == [1, 1, 0, 1]
    assert int(ids[0]) & 0x7FFFFFFF == 1774 and int(ids[2]) & 0x7FFFFFFF == 500 and int(ids[3]) & 0x7FFFFFFF == 4999
    assert ids[0] != ids[1]  # the sign is part of the pair's identity
    # integers: a width below 1 cannot be used (537 would have to move by 0.1)
    assert wm._cells(np.array([537.0, 5370.0]), 4, 1.0)[0].tolist() == [False, True]


def test_decimals_are_inferred_from_values():
    assert wm._infer_decimals(np.array([1.5, 2.25, np.nan])) == 2
    assert wm._infer_decimals(np.array([3.0, 10.0])) == 0
    assert wm._infer_decimals(np.array([0.1 + 0.2])) == 1  # float noise of a 1-decimal value
    assert wm._infer_decimals(np.random.default_rng(0).random(50)) is None


def test_statistic_on_distinct_pairs_is_exact():
    n = 400
    marked = embed(_distinct_pairs(n), KEY)
    found = detect(marked, KEY)
    # every cell green, null sd = sqrt(n)/2 -> z = sqrt(n), Hoeffding p = exp(-z^2/2)
    assert found.cells_used == n and found.green_share == 1.0
    assert found.z == pytest.approx(math.sqrt(n))
    assert found.p_value == pytest.approx(math.exp(-n / 2))
    assert found.log10_p_value == pytest.approx(-n / 2 / math.log(10))
    other = detect(marked, "another key")
    assert other.z == pytest.approx((2 * other.green_share - 1) * math.sqrt(n))


def test_variance_accounts_for_repeats_and_balanced_pairs():
    # 1000 values held twice each (n = 2200 rows, so repeats of 2 are not heaps) plus 100 balanced pairs:
    # a balanced pair holds one value in each half, so exactly one of its two cells is green whatever the key.
    doubled = 1000.5 + 2.0 * np.arange(1000)
    balanced = 5000.5 + 2.0 * np.arange(100)
    df = pd.DataFrame({"x": np.concatenate([doubled, doubled, balanced, balanced + 1.0])})
    for key in ("k1", "k2", "k3"):
        found = detect(df, key)
        green = found.green_share * found.cells_used
        assert found.cells_used == 2200
        # Var(G) = sum_j (A_j - B_j)^2 / 4 = 1000 * 2^2 / 4 = 1000; balanced pairs add nothing
        assert found.z == pytest.approx((green - 1100) / math.sqrt(1000))


def test_detection_is_json_friendly(release):
    found = detect(release[3], KEY)
    data = json.loads(json.dumps(found.to_dict()))
    assert data["cells_used"] == found.cells_used
    assert [c["name"] for c in data["columns"]] == ["wage"]
    assert "ethnicity" in data["skipped"]


# -- detection on a real release --------------------------------------------------------
def test_detects_a_10k_row_release(release):
    _, _, synthetic, marked = release
    found = detect(marked, KEY)
    assert found.p_value < 1e-6 and found.significant()
    assert found.green_share > 0.99  # heaps were never moved, so nearly every tested cell is green
    assert detect(synthetic, KEY).p_value > 0.01  # the same rows before marking


@pytest.mark.parametrize("attack", ["subsample_10pct", "shuffle_rows", "reorder_rename_columns", "csv_rounded",
                                    "replace_20pct_with_real", "all_at_once"])
def test_survives_post_processing(release, attack, tmp_path):
    real, schema, _, marked = release
    rng = np.random.default_rng(7)
    table = marked

    def csv_rounded(df):
        decimals = {c.name: c.decimals for c in schema if c.decimals is not None and c.name in df.columns}
        path = sg.write(df.round(decimals), tmp_path / "release.csv")
        return sg.read(path)

    def rename(df):
        order = rng.permutation(df.shape[1])
        return df.iloc[:, order].set_axis(range(df.shape[1]), axis=1)  # names become 0, 1, 2, ...

    def mix(df):
        keep = df.sample(frac=0.8, random_state=1)
        return pd.concat([keep, real.sample(len(df) - len(keep), random_state=2)], ignore_index=True)

    steps = {
        "subsample_10pct": [lambda df: df.sample(frac=0.1, random_state=3)],
        "shuffle_rows": [lambda df: df.sample(frac=1.0, random_state=4)],
        "reorder_rename_columns": [rename],
        "csv_rounded": [csv_rounded],
        "replace_20pct_with_real": [mix],
        "all_at_once": [mix, lambda df: df.sample(frac=0.1, random_state=5), csv_rounded, rename],
    }[attack]
    for step in steps:
        table = step(table)
    assert detect(table, KEY).p_value < 1e-6


def test_false_positive_rate_over_1000_keys(release):
    real, _, synthetic, marked = release
    keys = [f"wrong-key-{i}" for i in range(N_KEYS)]
    for table in (marked, synthetic, real):
        found = detect_many(table, keys)
        p = np.array([d.p_value for d in found])
        z = np.array([d.z for d in found])
        # the p-value bounds the false-alarm chance by alpha for any table, so <= 1% of 1000 keys
        # (<= 10) fall below 0.01; Hoeffding is conservative, so in practice almost none do.
        assert np.mean(p < 0.01) <= 0.01
        # and z is standardised with its exact null variance: mean 0, sd 1 over random keys
        # (tolerances ~5 standard errors: 0.15 for the mean, 0.1 for the sd, with 1000 keys)
        assert abs(z.mean()) < 0.15
        assert abs(z.std() - 1) < 0.1


# -- embedding respects the schema -------------------------------------------------------
def test_embedding_respects_the_schema_on_loans(loans):
    schema = sg.infer_schema(loans)
    before = loans.copy()
    marked = embed(loans, KEY, schema=schema)
    pd.testing.assert_frame_equal(loans, before)  # the input is not changed
    assert list(marked.columns) == list(loans.columns)
    changed_cells = 0
    for col in schema:
        a, b = loans[col.name], marked[col.name]
        assert b.dtype == a.dtype, col.name
        assert b.isna().equals(a.isna()), col.name  # missing values untouched
        if col.kind.value != "numeric":
            assert b.equals(a), col.name
            continue
        moved = (a != b) & a.notna()
        changed_cells += int(moved.sum())
        x, y = a[moved].astype(float), b[moved].astype(float)
        if col.integer:
            assert np.all(y == np.round(y)), col.name
        if col.decimals is not None:
            assert np.allclose(y, y.round(col.decimals), rtol=0, atol=1e-9), col.name
        if col.minimum is not None:
            assert (y >= col.minimum).all() and (y <= col.maximum).all(), col.name
        # one unit of the 4th significant digit at most: |change| <= 0.1% of the value
        assert ((y - x).abs() <= 1e-3 * x.abs() * (1 + 1e-9)).all(), col.name
        # heaps (a value held by > 0.1% of rows) never move
        share = a.map(a.value_counts(normalize=True))
        assert not (moved & (share > wm.ATOM_SHARE)).any(), col.name
    assert changed_cells > 10_000
    assert detect(marked, KEY).p_value < 1e-6


def test_constraints_that_held_still_hold():
    rng = np.random.default_rng(0)
    start = rng.uniform(1000, 9000, 3000).round(1)
    df = pd.DataFrame({"start": start, "end": (start + rng.uniform(0, 3, 3000)).round(1)})
    schema = sg.infer_schema(df).with_constraints(sg.Inequality(low="start", high="end"))
    plain = embed(df, KEY)
    assert not (plain["start"] <= plain["end"]).all()  # without the constraint, some moves cross
    marked = embed(df, KEY, schema=schema)
    assert (marked["start"] <= marked["end"]).all()
    assert (marked != df).to_numpy().sum() > 1000
    assert detect(marked, KEY).p_value < 1e-6


def test_nullable_integer_columns_keep_their_dtype():
    values = pd.array([None if i % 10 == 0 else 10_000 + 7 * i for i in range(1000)], dtype="Int64")
    df = pd.DataFrame({"n": values, "m": np.arange(1000, 2000, dtype=np.uint32)})
    marked = embed(df, KEY)
    assert marked["n"].dtype == "Int64" and marked["n"].isna().equals(df["n"].isna())
    assert marked["m"].dtype == np.uint32
    assert (marked["n"] != df["n"]).sum() > 300 and (marked["m"] != df["m"]).sum() > 300
    assert detect(marked, KEY).p_value < 1e-6


def test_strength_sets_the_share_of_moved_cells():
    df = _distinct_pairs(4000)
    full, half = embed(df, KEY), embed(df, KEY, strength=0.5)
    moved_full = int((full["x"] != df["x"]).sum())
    moved_half = int((half["x"] != df["x"]).sum())
    # binomial(moved_full, 0.5): sd ~ 22 for ~2000 cells; 5 sd tolerance
    assert abs(moved_half - moved_full / 2) < 5 * math.sqrt(moved_full / 4)
    assert set(np.flatnonzero(half["x"] != df["x"])) <= set(np.flatnonzero(full["x"] != df["x"]))
    # green = (cells green already) + (half of the red ones): share 0.75, sd ~0.007 for 4000 cells; 0.04 ~ 6 sd
    assert detect(half, KEY).green_share == pytest.approx(0.75, abs=0.04)


def test_embedding_is_deterministic_and_idempotent():
    df = pd.DataFrame({"x": np.random.default_rng(1).lognormal(8, 1, 2000).round(2)})
    once = embed(df, KEY)
    pd.testing.assert_frame_equal(embed(df, KEY), once)
    pd.testing.assert_frame_equal(embed(once, KEY), once)  # marked cells are already green
    assert not embed(df, "other").equals(once)


def test_only_the_chosen_rows_and_columns_are_marked(release):
    _, schema, synthetic, _ = release
    df = synthetic.assign(wage2=synthetic["wage"] * 3)
    synthetic_rows = np.arange(len(df)) % 2 == 0  # as a hybrid release's `_synthetic` column
    marked = embed(df, KEY, schema=schema, columns=["wage"], rows=synthetic_rows)
    assert marked["wage2"].equals(df["wage2"])
    moved = (marked["wage"] != df["wage"]).to_numpy()
    assert moved.sum() > 500 and not moved[~synthetic_rows].any()
    assert detect(marked[synthetic_rows], KEY).p_value < 1e-6
    with pytest.raises(ParameterError, match="boolean mask"):
        embed(df, KEY, rows=[True, False])
    with pytest.raises(ParameterError, match="unknown column"):
        embed(df, KEY, columns=["wagez"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e9, 1e9, allow_nan=False), st.just(float("nan"))), min_size=5, max_size=60),
       st.integers(2, 7))
def test_embedding_properties(values, digit):
    df = pd.DataFrame({"x": values})
    try:
        marked = embed(df, "prop-key", digit=digit)
    except InputError:
        return  # nothing markable (zeros, NaN or all repeats): refused loudly, never silently
    a, b = df["x"].to_numpy(), marked["x"].to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b))
    finite = ~np.isnan(a)
    # a move is one unit of the `digit`-th significant digit: relative change <= 10^(1 - digit)
    assert np.all(np.abs(b[finite] - a[finite]) <= 10.0 ** (1 - digit) * np.abs(a[finite]) * (1 + 1e-9))
    assert np.all(np.sign(b[finite]) == np.sign(a[finite]))
    assert np.nanmin(b) >= np.nanmin(a) and np.nanmax(b) <= np.nanmax(a)  # no schema: observed range kept
    np.testing.assert_array_equal(embed(marked, "prop-key", digit=digit)["x"].to_numpy(), b)


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["", b"", 12345, None])
def test_bad_keys_are_refused(key):
    df = _distinct_pairs(50)
    with pytest.raises(ParameterError, match="key"):
        embed(df, key)
    with pytest.raises(ParameterError, match="key"):
        detect(df, key)


def test_a_table_without_usable_cells_is_refused():
    df = pd.DataFrame({"colour": ["red", "blue"] * 50, "age": np.arange(100) % 90, "flag": [True, False] * 50})
    with pytest.raises(InputError, match="no cells that can carry a watermark") as err:
        embed(df, KEY)
    assert "colour" in str(err.value) and err.value.code == "SG-INPUT"
    with pytest.raises(InputError, match="no cells"):
        detect(df, KEY)
    with pytest.raises(InputError, match="no rows"):
        embed(_distinct_pairs(5).iloc[:0], KEY)


@pytest.mark.parametrize("kwargs", [{"strength": 0}, {"strength": 1.5}, {"strength": True}, {"digit": 1},
                                    {"digit": 8}, {"digit": 4.0}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ParameterError):
        embed(_distinct_pairs(50), KEY, **kwargs)


def test_bad_tables_and_key_lists_are_refused():
    with pytest.raises(ParameterError, match="DataFrame"):
        embed([[1.5, 2.5]], KEY)
    with pytest.raises(ParameterError, match="no keys"):
        detect_many(_distinct_pairs(50), [])
    with pytest.raises(ParameterError, match="list of keys"):
        detect_many(_distinct_pairs(50), "one-key")
