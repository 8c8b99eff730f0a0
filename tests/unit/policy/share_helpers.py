"""Helpers for the share tests: a small real release (CPS1988, copula) and a catalog lineage around it."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

import pandas as pd

import synthgov
from synthgov.datasets import load_cps1988
from synthgov.policy import example_list_path, example_policy_path
from synthgov.provenance.package import package

#: The example lists are dated 2026-11-01/10 and may be 30 days old: decide as of this fixed time.
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
NOW_ARG = NOW.isoformat()
RECIPIENT = "Harbourlight Research Ltd"  # not on the fictitious list


@functools.lru_cache(maxsize=1)
def real_table() -> pd.DataFrame:
    return load_cps1988().head(400).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def synthetic_table() -> pd.DataFrame:
    syn = synthgov.synthesizer("copula", random_state=0).fit(real_table())
    return syn.sample(150, random_state=0)


def make_release(out, *, release_id: str, workspace=None, key=None, catalog=False, table=None, source=None):
    """Package a synthetic CPS sample as a signed release (the workspace's default key unless ``key``).

    ``catalog=False``: not registered (tests register the lineage they need); ``None``: the workspace's catalog.
    """
    return package(synthetic_table() if table is None else table, out,
                   source=real_table() if source is None else source, synthesizer="copula", purpose="share tests",
                   creator="Ann Lee <ann@example.org>", release_id=release_id, workspace=workspace, key=key,
                   catalog=catalog)


def resynthesise(release, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(a new synthetic table fitted on ``release``'s rows, those rows): the next generation."""
    rows = pd.read_parquet(release.path / "data.parquet")
    syn = synthgov.synthesizer("copula", random_state=seed).fit(rows)
    return syn.sample(150, random_state=seed), rows


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def register(cat, rel, *, trained_on: str | None = None, tag: str = "") -> str:
    """Register ``rel`` (a packaged Release, or a bare id) with a synthesizer trained on ``trained_on``
    (default: a new real source). Returns the release id."""
    release_id = rel if isinstance(rel, str) else rel.release_id
    with cat.session(actor="builder") as s:
        parent = trained_on or s.add_source({"name": f"cps{tag}", "sha256": _sha("src" + release_id), "rows": 400,
                                              "columns": 7})
        syn = s.add_synthesizer(name="copula", params={"seed": 0}, trained_on=[parent])
        ds = s.add_dataset(sha256=_sha("ds" + release_id), name=f"ds-{release_id}", rows=150, columns=7, made_by=syn)
        files = {"data.parquet": _sha(release_id)} if isinstance(rel, str) else rel.files
        s.add_release(release_id=release_id, path=None if isinstance(rel, str) else str(rel.path), files=files,
                      dataset=ds, synthesizer=syn)
    return release_id


def dataset_of(cat, release_id: str) -> str:
    return cat.get(release_id).dataset_id


def policy_path() -> str:
    return str(example_policy_path())


def list_path() -> str:
    return str(example_list_path())
