"""One error tree for synthgov.

Every error the library raises for a user mistake is a :class:`SynthgovError`
with a stable ``code`` (safe to match on in scripts and tests), a message that
names the problem and a ``hint`` that says what to do about it. Library code
raises; only the CLI and the service render errors.

>>> err = ConditionError("unknown column 'sexx' in conditions", hint="use one of: age, sex")
>>> err.code
'SG-CONDITION'
>>> str(err)
"unknown column 'sexx' in conditions (hint: use one of: age, sex)"
>>> isinstance(err, SynthgovError)
True
"""

from __future__ import annotations

__all__ = [
    "SynthgovError",
    "ParameterError",
    "InputError",
    "SchemaError",
    "NotFittedError",
    "ConditionError",
    "ConstraintError",
    "ModelFileError",
    "OutputError",
    "KeyFileError",
    "PrivacyBudgetError",
    "IntegrityError",
    "PolicyDenied",
    "PolicyError",
    "NotFoundError",
    "CatalogError",
    "LineageDepthError",
    "DependencyError",
    "error_codes",
]


class SynthgovError(Exception):
    """Base of every synthgov error.

    Attributes:
        code: stable identifier, e.g. ``"SG-SCHEMA"``; never changes between releases.
        message: what is wrong, naming the column, value or file.
        hint: what to do about it (may be empty).
        details: machine-readable extras (column names, counts, ...).
    """

    code = "SG-ERROR"

    def __init__(self, message: str, *, hint: str = "", details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = dict(details or {})

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def to_dict(self) -> dict:
        """A JSON-friendly view, as the CLI and service render it."""
        return {"code": self.code, "message": self.message, "hint": self.hint, "details": self.details}


class ParameterError(SynthgovError, ValueError):
    """A parameter has the wrong type or an out-of-range value."""

    code = "SG-PARAMETER"


class InputError(SynthgovError, ValueError):
    """The input table cannot be read: empty, ragged, wrong encoding, duplicate names."""

    code = "SG-INPUT"


class SchemaError(SynthgovError, ValueError):
    """A column cannot be described or does not match its declared schema."""

    code = "SG-SCHEMA"


class NotFittedError(SynthgovError, RuntimeError):
    """A synthesizer was used before ``fit``."""

    code = "SG-NOT-FITTED"


class ConditionError(SynthgovError, ValueError):
    """Sampling conditions name unknown columns or impossible values."""

    code = "SG-CONDITION"


class ConstraintError(SynthgovError, ValueError):
    """A constraint is malformed or contradicted by the data."""

    code = "SG-CONSTRAINT"


class ModelFileError(SynthgovError, ValueError):
    """A saved synthesizer is missing, malformed, from an unknown version or altered."""

    code = "SG-MODEL-FILE"


class OutputError(SynthgovError, OSError):
    """A file or directory could not be written (permissions, a missing parent, a full disk)."""

    code = "SG-OUTPUT"


class KeyFileError(InputError):
    """A signing key is missing, unreadable, readable by other users, locked by a passphrase or not Ed25519.

    ``details["code"]`` says which: ``SG-KEY-NOT-FOUND``, ``SG-KEY-PERMISSIONS``,
    ``SG-KEY-PASSPHRASE``, ``SG-KEY-UNREADABLE`` or ``SG-KEY-MALFORMED``.
    """

    code = "SG-KEY"


class PrivacyBudgetError(SynthgovError):
    """An operation would exceed a differential-privacy budget."""

    code = "SG-PRIVACY-BUDGET"


class IntegrityError(SynthgovError):
    """A hash, signature or chain does not verify."""

    code = "SG-INTEGRITY"


class PolicyDenied(SynthgovError):
    """A share or release was refused by policy."""

    code = "SG-POLICY-DENIED"


class PolicyError(InputError):
    """A sharing policy or a denied-party list is malformed, missing or stale.

    ``details`` names the file, and for a malformed file the line and field.
    """

    code = "SG-POLICY"


class NotFoundError(SynthgovError, LookupError):
    """An id (release, source, synthesizer, evaluation, event, checkpoint, decision, licence) is not known."""

    code = "SG-NOT-FOUND"


class CatalogError(SynthgovError):
    """The catalog database cannot be reached, is from a newer synthgov, or refused a change.

    ``details["code"]`` says which: ``SG-CATALOG-UNREACHABLE``, ``SG-CATALOG-NEWER``,
    ``SG-CATALOG-URL`` or ``SG-CATALOG-WRITE``.
    """

    code = "SG-CATALOG"


class LineageDepthError(SynthgovError):
    """A release would be synthetic-on-synthetic beyond the configured generation limit (model collapse)."""

    code = "SG-LINEAGE-DEPTH"


class DependencyError(SynthgovError, ImportError):
    """An optional dependency is not installed; the hint names the extra to install."""

    code = "SG-DEPENDENCY"


def error_codes() -> dict[str, str]:
    """Map every stable code to the first line of its class docstring.

    >>> error_codes()["SG-INPUT"]
    'The input table cannot be read: empty, ragged, wrong encoding, duplicate names.'
    """
    out: dict[str, str] = {}
    stack: list[type[SynthgovError]] = [SynthgovError]
    while stack:
        cls = stack.pop()
        out[cls.code] = (cls.__doc__ or "").strip().splitlines()[0]
        stack.extend(cls.__subclasses__())
    return dict(sorted(out.items()))
