"""What a release says about its real source and its generator, without holding any of the source.

:func:`fingerprint_source` identifies the source by digests (sha256 of the file, or of
the table's row hashes), its schema hash and its shape; :class:`GeneratorInfo` records
the generator, its version, parameters, seed and differential-privacy account.

>>> import pandas as pd
>>> fp = fingerprint_source(pd.DataFrame({"income": [52000.0, 61000.0]}), name="payroll")
>>> fp.name, fp.rows, fp.columns, len(fp.sha256)
('payroll', 2, 1, 64)
>>> "52000" in str(fp.to_dict())
False
>>> GeneratorInfo(name="copula", seed=7).to_dict()["seed"]
7
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, ParameterError
from . import dsse

__all__ = ["SourceFingerprint", "GeneratorInfo", "fingerprint_source", "frame_digest", "generator_info", "sha256_file"]

@dataclasses.dataclass(frozen=True)
class SourceFingerprint:
    """Identifies the real source without holding any of it: digests, shape, a name and description."""

    name: str
    sha256: str
    digest_method: str
    schema_sha256: str | None = None
    rows: int | None = None
    columns: int | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GeneratorInfo:
    """How the rows were made: generator, version, parameters, seed and differential-privacy account."""

    name: str
    version: str | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: int | None = None
    epsilon: float | None = None
    delta: float | None = None
    mechanism: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_digest(df: pd.DataFrame) -> str:
    """sha256 over the column names, dtypes and pandas row hashes (index excluded): a table's content identity."""
    h = hashlib.sha256()
    h.update(dsse.canonical_json([[str(c), str(t)] for c, t in zip(df.columns, df.dtypes, strict=True)]))
    try:
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().astype("<u8").tobytes())
    except TypeError as exc:
        raise InputError(f"the source table cannot be fingerprinted: {exc}",
                         hint="give each column plain values (numbers, text, dates)") from None
    return h.hexdigest()


def fingerprint_source(data, *, name: str | None = None, description: str | None = None,
                       schema=None) -> SourceFingerprint:
    """Fingerprint the real source: sha256 of the file (a path) or of its row hashes (a DataFrame).

    The schema hash is ``schema.fingerprint()`` (inferred when not given). Nothing of the
    source's content is kept.
    """
    from ..table.io import read
    from ..table.schema import TableSchema

    for what, text in (("name", name), ("description", description)):
        if text is not None and not isinstance(text, str):
            raise ParameterError(f"the source's {what} must be text, got {type(text).__name__}")
    if isinstance(data, SourceFingerprint):
        return data
    if isinstance(data, Mapping):
        try:
            return SourceFingerprint(**dict(data))
        except TypeError as exc:
            raise ParameterError(f"source as a mapping must have SourceFingerprint's fields: {exc}") from None
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise InputError(f"no such source file: {path}", hint="source= is the real table the generator was fitted on")
        digest, method = sha256_file(path), "sha256 of the file's bytes"
        frame = read(path) if schema is None else None
        rows = len(frame) if frame is not None else None
        ncols = frame.shape[1] if frame is not None else len(schema)
        name = name or path.name
    elif isinstance(data, pd.DataFrame):
        frame = data
        digest, method = frame_digest(frame), "sha256 over column names, dtypes and pandas row hashes (index excluded)"
        rows, ncols = len(frame), frame.shape[1]
        name = name or "source table"
    else:
        raise ParameterError(f"source must be a path, a DataFrame or a SourceFingerprint, got {type(data).__name__}")
    if schema is None:
        schema = TableSchema.infer(frame)
    return SourceFingerprint(name=name, sha256=digest, digest_method=method, schema_sha256=schema.fingerprint(),
                             rows=rows, columns=ncols, description=description)


def generator_info(synthesizer) -> tuple[GeneratorInfo, Any]:
    """(info, the synthesizer's source schema or None)."""
    from ..generators.base import Synthesizer, _jsonable_params

    if synthesizer is None:
        raise ParameterError("packaging needs the synthesizer that made the rows",
                             hint="pass synthesizer=<the fitted synthesizer> or its name (--model / --generator)")
    if isinstance(synthesizer, GeneratorInfo):
        return synthesizer, None
    if isinstance(synthesizer, str):
        if not synthesizer.strip():
            raise ParameterError("synthesizer must name the generator")
        return GeneratorInfo(name=synthesizer.strip()), None
    if isinstance(synthesizer, Mapping):
        try:
            return GeneratorInfo(**dict(synthesizer)), None
        except TypeError as exc:
            raise ParameterError(f"synthesizer as a mapping must have GeneratorInfo's fields: {exc}") from None
    if not isinstance(synthesizer, Synthesizer):
        raise ParameterError(f"synthesizer must be a Synthesizer, a name or a GeneratorInfo, got {type(synthesizer).__name__}")
    params = _jsonable_params(synthesizer.get_params())
    account = synthesizer.privacy_
    seed = params.get("random_state")
    return GeneratorInfo(
        name=synthesizer.name or type(synthesizer).__name__,
        version=_package_version(type(synthesizer).__module__),
        parameters=params,
        seed=seed if isinstance(seed, int) else None,
        epsilon=None if account is None else float(account.epsilon),
        delta=None if account is None else float(account.delta),
        mechanism=None if account is None else account.mechanism,
    ), getattr(synthesizer, "schema_", None)


def _package_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    top = module.split(".")[0]
    try:
        return version(top)
    except PackageNotFoundError:
        from .. import __version__

        return __version__
