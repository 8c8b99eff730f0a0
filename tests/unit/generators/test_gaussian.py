"""The Gaussian machinery: bivariate normal CDF, exact polychoric solutions, nearest correlation matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import multivariate_normal

import synthgov as sg
from synthgov.generators._gaussian import bvn_cdf, nearest_correlation


@settings(max_examples=60, deadline=None)
@given(st.floats(-4, 4), st.floats(-4, 4), st.floats(-0.99, 0.99))
def test_bivariate_normal_cdf_matches_scipy(h, k, rho):
    expected = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([h, k])
    assert abs(float(bvn_cdf(h, k, rho)) - expected) < 1e-5


def test_bivariate_normal_cdf_at_infinities():
    assert float(bvn_cdf(np.inf, np.inf, 0.3)) == 1.0
    assert float(bvn_cdf(-np.inf, 1.0, 0.3)) == 0.0
    assert abs(float(bvn_cdf(np.inf, 0.5, 0.3)) - 0.6914625) < 1e-6


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (6, 6), elements=st.floats(-1, 1)))
def test_nearest_correlation_is_a_valid_correlation_matrix(m):
    c = (m + m.T) / 2
    np.fill_diagonal(c, 1.0)
    out = nearest_correlation(c)
    assert np.allclose(out, out.T) and np.allclose(np.diag(out), 1.0)
    assert np.linalg.eigvalsh(out).min() > 0 and np.abs(out).max() <= 1 + 1e-9
    np.linalg.cholesky(out)


def test_nearest_correlation_leaves_valid_matrices_alone():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 5))
    c = np.corrcoef(x, rowvar=False)
    assert np.allclose(nearest_correlation(c), c, atol=1e-12, rtol=0)


def test_three_level_ordinals_recover_their_latent_correlation():
    """Latent rho 0.6 between two thresholded normals (3 and 4 levels): the fitted latent correlation is
    within 0.04 of it (sd of the estimate at n = 20k is about 0.01)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=20_000)
    b = 0.6 * a + 0.8 * rng.normal(size=20_000)
    df = pd.DataFrame({"A": np.digitize(a, [-0.5, 0.7]).astype(str), "B": np.digitize(b, [-1, 0, 1.2]).astype(str)})
    schema = sg.TableSchema.infer(df).with_column("A", categories=("0", "1", "2")) \
        .with_column("B", categories=("0", "1", "2", "3"))  # the ordinal order, declared
    syn = sg.CopulaSynthesizer(random_state=0).fit(df, schema=schema)
    assert abs(abs(syn.corr_[0, 1]) - 0.6) < 0.04
    out = syn.sample(20_000)
    real = pd.crosstab(df.A, df.B, normalize="all")
    synth = pd.crosstab(out.A, out.B, normalize="all")
    assert (real - synth).abs().to_numpy().max() < 0.015
