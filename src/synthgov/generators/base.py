"""The synthesizer contract, the generator registry, and saving without pickle.

Every generator, built-in or plugin, subclasses :class:`Synthesizer`, takes
keyword-only constructor parameters (validated once, in ``__init__``), learns in
``fit`` (learned attributes end in ``_``) and draws rows in ``sample``. It is
registered under a name through the ``synthgov.generators`` entry-point group;
built-ins register exactly like plugins.

A saved synthesizer is a directory: ``synthesizer.json`` (parameters, schema,
learned metadata, and the sha256 of the arrays) plus ``arrays.npz`` (numbers
only, loaded with ``allow_pickle=False``). Nothing in it can run code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._atomic import atomic_dir
from .._plugins import load_entry_points
from ..errors import (
    InputError,
    ModelFileError,
    NotFittedError,
    OutputError,
    ParameterError,
    SynthgovError,
)

__all__ = [
    "Synthesizer",
    "PrivacyAccount",
    "ProgressCallback",
    "register_synthesizer",
    "synthesizer",
    "available_synthesizers",
    "load_synthesizer",
    "check_random_state",
]

MODEL_FORMAT = "synthgov.synthesizer/1"
ENTRY_POINT_GROUP = "synthgov.generators"

#: ``progress(stage, done, total)``: called as work advances.
ProgressCallback = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class PrivacyAccount:
    """What a differentially private generator spent: (epsilon, delta) under a neighbouring relation."""

    epsilon: float
    delta: float
    mechanism: str
    neighbouring: str = "add/remove one row"
    steps: tuple[dict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "steps": list(self.steps)}


#: Fewest rows any generator fits on.
MIN_ROWS = 2


def condition_items(conditions) -> tuple[bool, list[tuple[str, object]]]:
    """``(per_row, [(column, value), ...])`` of sampling conditions: a dict, or a DataFrame with one row per sample."""
    if isinstance(conditions, pd.DataFrame):
        return True, [(c, conditions[c].reset_index(drop=True)) for c in conditions.columns]
    if isinstance(conditions, dict):
        return False, list(conditions.items())
    raise ParameterError("conditions must be a dict {column: value or (low, high)} or a DataFrame with one row per sample")


def check_random_state(value: Any, name: str = "random_state") -> int | None:
    """Validate a seed: ``None`` or a non-negative integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be None or a non-negative integer, got {value!r}")
    return int(value)


class Synthesizer(ABC):
    """Base class of every generator (scikit-learn style).

    Subclasses set ``name``, define a keyword-only ``__init__`` storing each
    parameter under the same attribute name, and implement ``fit``, ``sample``,
    ``_state`` and ``_from_state``.
    """

    name: ClassVar[str] = ""
    #: Differential-privacy account after fit; ``None`` means no formal privacy guarantee.
    privacy_: PrivacyAccount | None = None

    # -- parameters ----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as passed."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- lifecycle -----------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return getattr(self, "schema_", None) is not None

    @staticmethod
    def _training_frame(data) -> pd.DataFrame:
        """``fit``'s input as a checked DataFrame (a path is read; read() checks what it reads), of at least 2 rows."""
        from ..table.infer import check_frame
        from ..table.io import read

        if isinstance(data, pd.DataFrame):
            check_frame(data)
            df = data
        else:
            df = read(data)
        if len(df) < MIN_ROWS:
            raise InputError(f"the table has {len(df)} row(s); a synthesizer needs at least {MIN_ROWS}",
                             hint="provide more rows")
        return df

    def _sample_setup(self, n, conditions, random_state) -> tuple[int, np.random.Generator]:
        """``sample``'s shared checks: the row count (``None`` with one condition row per sample) and the RNG."""
        if isinstance(conditions, pd.DataFrame):
            if n is None:
                n = len(conditions)
            elif n != len(conditions):
                raise ParameterError(f"n={n} but conditions has {len(conditions)} rows", hint="leave n out or make them equal")
        if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be a positive integer, got {n!r}", hint="ask for at least one row")
        seed = check_random_state(random_state)
        return int(n), np.random.default_rng(seed) if seed is not None else self._rng

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet",
                hint="call .fit(data) before sampling or saving",
            )

    @abstractmethod
    def fit(self, data, *, schema=None, progress: ProgressCallback | None = None) -> Synthesizer:
        """Learn from ``data`` (a DataFrame or anything :func:`synthgov.read` accepts). Returns ``self``."""
        ...

    @abstractmethod
    def sample(self, n: int | None = None, *, conditions=None, random_state: int | None = None,
               progress: ProgressCallback | None = None) -> pd.DataFrame:
        """Draw ``n`` synthetic rows, optionally under ``conditions``."""
        ...

    # -- persistence ------------------------------------------------------------
    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        ...

    @classmethod
    @abstractmethod
    def _from_state(cls, params: dict[str, Any], meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Synthesizer:
        ...

    def save(self, path: str | os.PathLike) -> Path:
        """Save to directory ``path`` (JSON + ``.npz``; never pickle). Replaces it atomically."""
        self._check_fitted()
        meta, arrays = self._state()
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        blob = buf.getvalue()
        doc = {
            "format": MODEL_FORMAT,
            "generator": self.name,
            "synthgov_version": _version(),
            "params": _jsonable_params(self.get_params()),
            "state": meta,
            "arrays_sha256": hashlib.sha256(blob).hexdigest(),
        }
        doc["sha256"] = _digest(doc)
        path = Path(path)
        try:
            with atomic_dir(path) as tmp:
                (tmp / "arrays.npz").write_bytes(blob)
                (tmp / "synthesizer.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot save the model to {path}: {exc.strerror or exc}",
                              hint="check the directory's parent exists and is writable") from None
        return path


def _digest(doc: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``doc`` without its own ``sha256`` field."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _version() -> str:
    from .. import __version__

    return __version__


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        elif isinstance(value, (list, tuple)):
            value = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
        out[key] = value
    try:
        json.dumps(out)
    except TypeError as exc:
        raise ParameterError(f"a parameter cannot be saved as JSON: {exc}") from None
    return out


# -- registry --------------------------------------------------------------------
_REGISTRY: dict[str, type[Synthesizer]] = {}
_LOADED = False


def register_synthesizer(name: str, cls: type[Synthesizer]) -> None:
    """Register a generator class under ``name`` (what entry points do for plugins)."""
    if not (isinstance(cls, type) and issubclass(cls, Synthesizer)):
        raise ParameterError(f"{cls!r} is not a Synthesizer subclass")
    if not isinstance(name, str) or not name:
        raise ParameterError("a generator name must be non-empty text")
    _REGISTRY[name] = cls


def _load_entry_points() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    load_entry_points(ENTRY_POINT_GROUP, register_synthesizer, what="generator", skip=_REGISTRY.__contains__)


def available_synthesizers() -> dict[str, type[Synthesizer]]:
    """Registered generators by name (built-ins and plugins)."""
    _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def synthesizer(name: str, **params: Any) -> Synthesizer:
    """Make a registered generator by name: ``synthesizer("copula", random_state=0)``."""
    registry = available_synthesizers()
    if name not in registry:
        raise ParameterError(f"unknown generator {name!r}", hint=f"available: {', '.join(registry) or 'none'}")
    cls = registry[name]
    accepted = set(cls._param_names()) if isinstance(cls, type) and issubclass(cls, Synthesizer) else None
    unknown = sorted(set(params) - accepted) if accepted is not None else []
    if unknown:
        raise ParameterError(f"the {name!r} generator has no parameter {', '.join(unknown)}",
                             hint=f"its parameters: {', '.join(sorted(accepted))}")
    return cls(**params)


def load_synthesizer(path: str | os.PathLike) -> Synthesizer:
    """Load a synthesizer saved with :meth:`Synthesizer.save` (verifies the arrays' sha256)."""
    path = Path(path)
    meta_file, arrays_file = path / "synthesizer.json", path / "arrays.npz"
    if not meta_file.is_file() or not arrays_file.is_file():
        raise ModelFileError(f"{path} is not a saved synthesizer (synthesizer.json or arrays.npz missing)")
    try:
        doc = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_file} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{meta_file} has an unknown format", hint=f"expected {MODEL_FORMAT!r}")
    if doc.get("sha256") != _digest(doc):
        raise ModelFileError(
            f"{meta_file} does not match its recorded sha256: the model description was altered",
            hint="restore the model from a trusted copy or fit it again",
        )
    blob = arrays_file.read_bytes()
    if hashlib.sha256(blob).hexdigest() != doc.get("arrays_sha256"):
        raise ModelFileError(
            f"{arrays_file} does not match the sha256 recorded in synthesizer.json: the model was altered",
            hint="restore the model from a trusted copy or fit it again",
        )
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise ModelFileError(f"{arrays_file} holds non-numeric data and was refused: {exc}") from None
    registry = available_synthesizers()
    cls = registry.get(doc.get("generator", ""))
    if cls is None:
        raise ModelFileError(
            f"the model was made by generator {doc.get('generator')!r}, which is not installed",
            hint=f"install the plugin that provides it; available: {', '.join(registry)}",
        )
    try:
        return cls._from_state(doc.get("params", {}), doc.get("state", {}), arrays)
    except SynthgovError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(
            f"{path} cannot be loaded: {type(exc).__name__}: {exc}",
            hint=f"it was saved by synthgov {doc.get('synthgov_version', '?')}; fit the model again with this version",
        ) from None
