"""Properties of the discretised columns behind BayesNetSynthesizer (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov.generators._bn_columns import NumericColumn

bounds = st.tuples(st.integers(-10_000, 10_000), st.integers(0, 50_000)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=80, deadline=None)
@given(b=bounds, step=st.sampled_from([None, 1.0, 0.01, 5.0]), seed=st.integers(0, 2**16))
def test_public_cells_decode_inside_the_bounds_on_the_step_and_back_to_their_code(b, step, seed):
    lo, hi = float(b[0]), float(b[1])
    col = NumericColumn.public("x", lo, hi, step)
    rng = np.random.default_rng(seed)
    col.weights = rng.integers(0, 50, col.n_cells).astype(float)
    col.set_codes(10)
    codes = rng.integers(0, col.n_codes, 400)
    values = col.decode(codes, rng)
    present = ~np.isnan(values)
    assert (codes[~present] == col.missing_code).all()
    x = values[present]
    assert (x >= lo - 1e-9).all() and (x <= max(hi, col.bounds[1]) + 1e-9).all()
    if step and np.ceil(lo / step - 1e-9) <= np.floor(hi / step + 1e-9):  # some step lies in the bounds
        assert np.allclose(np.round(x / step) * step, x, atol=1e-6 * step)
    # a decoded value falls back into a cell of the code it came from
    assert (col.codes_of(x) == codes[present]).all()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(-50, 50), min_size=5, max_size=300), seed=st.integers(0, 100))
def test_exact_columns_count_every_value_and_merge_rare_ones(values, seed):
    x = np.array(values, dtype=float)
    col = NumericColumn.from_data("x", x, 1.0, bins=8, rare=3, missing=False)
    assert col.weights.sum() == len(x)  # every row is counted once
    out = col.decode(np.random.default_rng(seed).integers(0, col.n_codes, 200), np.random.default_rng(seed))
    uniq, counts = np.unique(x, return_counts=True)
    if col.exact:  # only values seen at least 3 times are ever produced
        assert set(out) <= set(uniq[counts >= 3])
