"""How far a release is from real data: its generation and the synthetic share of its training data.

Training a generator on generated data, generation after generation, makes models
collapse: tails thin out, variance shrinks, rare categories vanish (Shumailov et al.,
"AI models collapse when trained on recursively generated data", Nature 631, 2024).
Every release therefore states its :class:`Lineage`:

* ``generation``: 1 for rows made by a model trained on real data only; ``n + 1`` for rows
  made by a model trained on (some) generation-``n`` data. A real table is generation 0.
* ``hops``: synthetic-on-synthetic hops, ``generation - 1``.
* ``training_synthetic_share``: the share of the model's training rows that were synthetic
  (row-weighted: a hybrid table used for training counts with its own synthetic share).
* ``parents``: ids of the synthetic datasets or releases the model was trained on.

:func:`check_lineage` is the packaging gate: above generation 1 it warns; above
``max_generation`` (default :data:`DEFAULT_MAX_GENERATION`) it refuses with
:class:`~synthgov.errors.LineageDepthError` unless an override reason is given, which the
release records (and the ledger logs).

Where the training data says what it is, :func:`recorded_lineage` reads it: the
``synthgov`` metadata that :func:`synthgov.provenance.package` and ``synthgov generate``
write into Parquet files, or the ``attrs["synthgov"]`` of a DataFrame.

>>> first = Lineage()
>>> first.generation, first.hops, first.training_synthetic_share
(1, 0, 0.0)
>>> third = Lineage.from_parent({"synthetic": True, "generation": 2, "release_id": "r2"})
>>> third.generation, third.hops, third.parents
(3, 2, ('r2',))
>>> checked, notes = check_lineage(third, max_generation=3)
>>> notes[0].startswith("generation 3")
True
>>> check_lineage(Lineage(generation=4, training_synthetic_share=1.0), max_generation=3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
synthgov.errors.LineageDepthError: generation 4 is above the limit of 3 ...
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import LineageDepthError, ParameterError

__all__ = ["Lineage", "DEFAULT_MAX_GENERATION", "check_lineage", "lineage_of", "recorded_lineage", "METADATA_KEY"]

#: Packaging refuses releases above this generation unless an override reason is given.
DEFAULT_MAX_GENERATION = 3
METADATA_KEY = "synthgov"
_COLLAPSE = ("Repeated training on generated data degrades models (model collapse: Shumailov et al., "
             "Nature 2024): tails thin out, variance shrinks and rare categories vanish.")


@dataclasses.dataclass(frozen=True)
class Lineage:
    """A release's distance from real data (see the module docs)."""

    generation: int = 1
    training_synthetic_share: float = 0.0
    parents: tuple[str, ...] = ()
    override_reason: str | None = None

    def __post_init__(self):
        if isinstance(self.generation, bool) or not isinstance(self.generation, int) or self.generation < 1:
            raise ParameterError(f"a release's generation is an integer of at least 1, got {self.generation!r}")
        share = self.training_synthetic_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0 or math.isnan(share):
            raise ParameterError(f"the training synthetic share is a number in [0, 1], got {share!r}")
        if self.generation == 1 and share > 0:
            raise ParameterError("a generation-1 release was trained on real data only: its training synthetic share is 0",
                                 hint="a model trained on synthetic rows makes generation 2 or more")
        if self.generation > 1 and share == 0:
            raise ParameterError(f"a generation-{self.generation} release was trained on synthetic rows: "
                                 "its training synthetic share is above 0")
        object.__setattr__(self, "training_synthetic_share", float(share))
        object.__setattr__(self, "parents", tuple(str(p) for p in self.parents))

    @property
    def hops(self) -> int:
        """Synthetic-on-synthetic hops: ``generation - 1``."""
        return self.generation - 1

    @classmethod
    def from_parent(cls, recorded: Mapping[str, Any], *, share: float | None = None) -> Lineage:
        """The lineage of rows made by a model trained on a table whose metadata is ``recorded``."""
        if not recorded.get("synthetic"):
            return cls()
        parent_generation = recorded.get("generation", 1)
        if isinstance(parent_generation, bool) or not isinstance(parent_generation, int) or parent_generation < 1:
            parent_generation = 1
        if share is None:
            share = recorded.get("synthetic_share", 1.0)
            share = float(share) if isinstance(share, (int, float)) and 0 < share <= 1 else 1.0
        parent = recorded.get("release_id") or recorded.get("dataset_id")
        return cls(generation=parent_generation + 1, training_synthetic_share=share,
                   parents=(str(parent),) if parent else ())

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Lineage:
        """Inverse of :meth:`to_dict` (also accepts the snake_case field names)."""
        try:
            return cls(generation=doc.get("generation", 1),
                       training_synthetic_share=doc.get("trainingSyntheticShare", doc.get("training_synthetic_share", 0.0)),
                       parents=tuple(doc.get("parents", ())),
                       override_reason=doc.get("overrideReason", doc.get("override_reason")))
        except (TypeError, AttributeError) as exc:
            raise ParameterError(f"lineage must be a mapping with generation, trainingSyntheticShare and parents: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"generation": self.generation, "syntheticOnSyntheticHops": self.hops,
                "trainingSyntheticShare": self.training_synthetic_share, "parents": list(self.parents),
                "overrideReason": self.override_reason}

    def describe(self) -> str:
        """One plain sentence for cards and terminals."""
        if self.generation == 1:
            return "Generation 1: made by a model trained on real data only (no synthetic training data)."
        parents = f" ({', '.join(self.parents)})" if self.parents else ""
        return (f"Generation {self.generation}: made by a model trained on data that was itself synthetic{parents}; "
                f"{self.hops} synthetic-on-synthetic hop(s), {self.training_synthetic_share:.0%} of the training rows "
                "were synthetic.")


def check_lineage(lineage: Lineage, *, max_generation: int = DEFAULT_MAX_GENERATION,
                  override_reason: str | None = None) -> tuple[Lineage, list[str]]:
    """The packaging gate: ``(lineage, warnings)``; raises LineageDepthError above ``max_generation``.

    An ``override_reason`` lets a release above the limit through; the returned lineage
    carries the reason so that the release (and the ledger) records it.
    """
    if isinstance(max_generation, bool) or not isinstance(max_generation, int) or max_generation < 1:
        raise ParameterError(f"max_generation must be an integer of at least 1, got {max_generation!r}")
    if override_reason is not None and (not isinstance(override_reason, str) or not override_reason.strip()):
        raise ParameterError("override_reason must be a non-empty sentence saying why the limit is overridden")
    notes: list[str] = []
    if lineage.generation > 1:
        notes.append(f"{lineage.describe().replace('Generation', 'generation', 1)} {_COLLAPSE}")
    if lineage.generation > max_generation:
        if override_reason is None:
            raise LineageDepthError(
                f"generation {lineage.generation} is above the limit of {max_generation} synthetic generations "
                f"({lineage.hops} synthetic-on-synthetic hops). {_COLLAPSE}",
                hint="train on real data (or keep a share of it), raise max_generation, or pass override_reason='…' "
                     "(--override-reason); the reason is recorded in the release and the ledger",
                details={"generation": lineage.generation, "max_generation": max_generation})
        lineage = dataclasses.replace(lineage, override_reason=override_reason.strip())
        notes.append(f"the generation limit of {max_generation} was overridden: {lineage.override_reason}")
    return lineage, notes


def lineage_of(training_data) -> Lineage:
    """The lineage of rows made by a model trained on ``training_data`` (a path or DataFrame), from what it records."""
    return Lineage.from_parent(recorded_lineage(training_data))


def recorded_lineage(data) -> dict[str, Any]:
    """What a table records about itself: a DataFrame's ``attrs["synthgov"]`` or a Parquet file's metadata."""
    import pandas as pd
    import pyarrow.parquet as pq

    if isinstance(data, pd.DataFrame):
        info = data.attrs.get(METADATA_KEY)
        return dict(info) if isinstance(info, Mapping) else {}
    if isinstance(data, (str, os.PathLike)) and str(data).lower().endswith(".parquet") and Path(data).is_file():
        try:
            meta = pq.read_schema(data).metadata or {}
            info = json.loads(meta.get(METADATA_KEY.encode(), b"{}"))
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}
    return {}
