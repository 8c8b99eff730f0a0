"""Conformance suite every generator, built-in or plugin, must pass.

:func:`check_synthesizer` fits and samples the generator on a real table (the
bundled CPS1988 extract by default), checks the contract in ARCHITECTURE.md and
raises one :class:`AssertionError` listing *every* failed check (lazily, like
pandera's reports), or returns the names of the checks that passed.

>>> from synthgov import CopulaSynthesizer
>>> passed = check_synthesizer(CopulaSynthesizer, rows=2000)
>>> "reproducible" in passed and "save-load" in passed
True
"""

from __future__ import annotations

import inspect
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConditionError, NotFittedError, ParameterError
from .generators.base import (
    PrivacyAccount,
    Synthesizer,
    available_synthesizers,
    load_synthesizer,
)
from .table.schema import Kind

__all__ = ["check_synthesizer"]


def _frames_identical(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a.shape == b.shape and list(a.columns) == list(b.columns) and a.to_csv(index=False) == b.to_csv(index=False) \
        and [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes]


def check_synthesizer(
    generator: type[Synthesizer] | Callable[..., Synthesizer],
    *,
    data: pd.DataFrame | None = None,
    rows: int | None = 5000,
    params: dict | None = None,
) -> list[str]:
    """Run the conformance checks on ``generator`` (a Synthesizer class or factory).

    Args:
        generator: called as ``generator(random_state=seed, **params)``.
        data: the table to fit (default: the bundled CPS1988 extract).
        rows: use the first ``rows`` rows of ``data`` (None: all) to keep it quick.
        params: extra constructor parameters.

    Returns:
        The names of the checks that passed. Raises AssertionError naming every failure.
    """
    from .datasets import load_cps1988

    params = dict(params or {})
    df = load_cps1988() if data is None else data
    if rows is not None:
        df = df.iloc[:rows].reset_index(drop=True)
    passed: list[str] = []
    failures: list[str] = []

    def check(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - an unexpected error is a failure to report, not to hide
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
        else:
            passed.append(name)

    def make(seed=0) -> Synthesizer:
        return generator(random_state=seed, **params)

    cls = generator if isinstance(generator, type) else type(make())

    def keyword_only():
        sig = inspect.signature(cls.__init__)
        positional = [p.name for p in list(sig.parameters.values())[1:]
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        assert not positional, f"constructor parameters must be keyword-only, found positional {positional}"
        assert "random_state" in sig.parameters, "constructor must accept random_state"

    def params_roundtrip():
        syn = make(3)
        again = cls(**syn.get_params())
        assert again.get_params() == syn.get_params(), "cls(**get_params()) does not reproduce the parameters"

    def registered():
        reg = available_synthesizers()
        assert reg.get(cls.name) is cls, f"{cls.__name__} is not registered under its name {cls.name!r}"

    def not_fitted():
        try:
            make().sample(5)
        except NotFittedError:
            return
        raise AssertionError("sample before fit must raise NotFittedError")

    fitted: dict[str, Synthesizer] = {}

    def fit_returns_self():
        syn = make(0)
        assert syn.fit(df) is syn, "fit must return self"
        assert syn.schema_ is not None and list(syn.schema_.names) == list(df.columns), "schema_ must describe the data"
        assert getattr(syn, "n_rows_", None) == len(df), "n_rows_ must be the number of training rows"
        assert syn.privacy_ is None or isinstance(syn.privacy_, PrivacyAccount), "privacy_ must be None or a PrivacyAccount"
        fitted["syn"] = syn

    def sample_shape_and_kinds():
        syn = fitted["syn"]
        out = syn.sample(1000, random_state=1)
        assert isinstance(out, pd.DataFrame) and len(out) == 1000, "sample(n) must return n rows"
        assert list(out.columns) == list(df.columns), "columns must match the data, in order"
        for col in syn.schema_:
            values = out[col.name].dropna()
            if col.kind is Kind.NUMERIC and len(values):
                x = values.astype("float64")
                assert x.min() >= float(col.minimum) - 1e-9 and x.max() <= float(col.maximum) + 1e-9, \
                    f"{col.name}: values outside [{col.minimum}, {col.maximum}]"
                if col.integer:
                    assert np.all(np.mod(x, 1) == 0), f"{col.name}: non-integer values in an integer column"
            if col.kind in (Kind.CATEGORICAL, Kind.BOOLEAN) and col.categories is not None:
                allowed = set(col.categories) | ({col.rare_label} if col.rare_grouped else set())
                extra = set(values.tolist()) - allowed
                assert not extra, f"{col.name}: values outside the kept categories: {sorted(map(str, extra))[:3]}"
            if col.kind is Kind.IDENTIFIER:
                assert values.is_unique, f"{col.name}: identifiers are not unique"

    def reproducible():
        a = make(7).fit(df).sample(500)
        b = make(7).fit(df).sample(500)
        assert _frames_identical(a, b), "same random_state must give identical output, fit included"
        c = make(8).fit(df).sample(500)
        assert not _frames_identical(a, c), "a different random_state must give different output"

    def zero_rows():
        try:
            fitted["syn"].sample(0)
        except ParameterError:
            return
        raise AssertionError("sample(0) must raise ParameterError")

    def save_load():
        syn = fitted["syn"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model"
            syn.save(path)
            files = sorted(p.name for p in path.iterdir())
            assert files == ["arrays.npz", "synthesizer.json"], f"saved files must be JSON + npz, got {files}"
            json.loads((path / "synthesizer.json").read_text(encoding="utf-8"))
            with zipfile.ZipFile(path / "arrays.npz") as zf:
                for name in zf.namelist():
                    with zf.open(name) as fh:
                        header = fh.read(128)
                    assert b"'O'" not in header and b"|O" not in header, f"{name} holds Python objects (pickle)"
            loaded = load_synthesizer(path)
            assert type(loaded) is type(syn), "load_synthesizer must return the same class"
            a, b = syn.sample(300, random_state=11), loaded.sample(300, random_state=11)
            assert _frames_identical(a, b), "a loaded synthesizer must sample what the original samples"

    def conditions():
        syn = fitted["syn"]
        cat = next((c for c in syn.schema_ if c.kind is Kind.CATEGORICAL and c.categories), None)
        if cat is not None:
            level = cat.categories[-1]
            out = syn.sample(200, conditions={cat.name: level}, random_state=2)
            assert (out[cat.name] == level).all(), f"condition {cat.name}={level!r} not met in every row"
        try:
            syn.sample(5, conditions={"no such column": 1})
        except ConditionError:
            pass
        else:
            raise AssertionError("a condition on an unknown column must raise ConditionError")

    for name, fn in [
        ("keyword-only", keyword_only), ("params-roundtrip", params_roundtrip), ("registered", registered),
        ("not-fitted", not_fitted), ("fit", fit_returns_self),
    ]:
        check(name, fn)
    if "syn" in fitted:
        for name, fn in [
            ("sample-kinds", sample_shape_and_kinds), ("reproducible", reproducible), ("zero-rows", zero_rows),
            ("save-load", save_load), ("conditions", conditions),
        ]:
            check(name, fn)
    if failures:
        raise AssertionError(f"{cls.__name__} failed {len(failures)} conformance check(s):\n- " + "\n- ".join(failures))
    return passed
