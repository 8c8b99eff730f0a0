"""PII detection from column names and value patterns (pluggable).

Each :class:`PIIDetector` looks at a column's name and a sample of its values and
returns a tag (``"email"``, ``"phone"``, ...) or ``None``. Built-ins cover names,
e-mail, phone numbers, national-ID-like numbers, precise coordinates, dates of
birth and addresses. Add your own with :func:`register_pii_detector`; plugins
and built-ins register the same way.

>>> import pandas as pd
>>> detect_pii(pd.Series(["ann@example.org", "bo@example.net"], name="contact"))
'email'
>>> detect_pii(pd.Series([51.501364, 51.50722], name="lat"))
'location'
>>> detect_pii(pd.Series([3, 4], name="rooms")) is None
True
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pandas as pd

__all__ = ["PIIDetector", "register_pii_detector", "pii_detectors", "detect_pii"]

#: Share of sampled values a value pattern must match to tag a column.
MATCH_SHARE = 0.8
SAMPLE_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class PIIDetector:
    """Tags a column as PII by its name and/or its values.

    Args:
        tag: the tag to emit.
        name_pattern: regex searched (case-insensitively) in the column name.
        value_pattern: regex that must fully match at least ``MATCH_SHARE`` of sampled text values.
        numeric_check: for numeric columns, a function of (name, values) returning True to tag.
        values_alone: whether matching values suffice without a matching name
            (False for patterns that other data also fits, such as phone numbers).

    A name match alone always tags the column.
    """

    tag: str
    name_pattern: str | None = None
    value_pattern: str | None = None
    numeric_check: Callable[[str, pd.Series], bool] | None = None
    values_alone: bool = True

    def __call__(self, series: pd.Series) -> str | None:
        name = normalise_name(str(series.name or ""))
        name_hit = bool(self.name_pattern and re.search(self.name_pattern, name, re.IGNORECASE))
        values = series.dropna() if series.hasnans else series
        if name_hit:
            return self.tag
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if self.numeric_check is not None and len(values) and self.numeric_check(name, values):
                return self.tag
            return None
        if self.value_pattern is None or not self.values_alone or values.empty:
            return None
        share = values.astype(str).str.fullmatch(self.value_pattern, case=False).mean()
        return self.tag if share >= MATCH_SHARE else None


def normalise_name(name: str) -> str:
    """Column names as detectors see them: camelCase split, lower case, non-alphanumerics as ``_``.

    >>> normalise_name("Date of Birth"), normalise_name("customerName"), normalise_name("E-Mail")
    ('date_of_birth', 'customer_name', 'e_mail')
    """
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _decimals_at_least(values: pd.Series, digits: int) -> bool:
    text = values.head(SAMPLE_SIZE).astype(str)
    frac = text.str.partition(".")[2].str.len()
    return bool((frac >= digits).mean() >= 0.5)


def _coordinates(name: str, values: pd.Series) -> bool:
    if not re.search(r"(^|_)(lat|latitude|lon|lng|long|longitude)($|_)", name, re.IGNORECASE):
        return False
    return bool(values.abs().max() <= 180) and _decimals_at_least(values, 3)


_DETECTORS: list[PIIDetector] = [
    PIIDetector("email", r"e_?mail", r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    PIIDetector(
        "national_id",
        r"(^|_)(ssn|nin|nino|sin|passport|national_?id|social_?security|tax_?id|nhs_?(number|no))($|_)",
        r"\d{3}-\d{2}-\d{4}|[A-Z]{2}\d{6}[A-D]",
    ),
    PIIDetector("dob", r"(^|_)(dob|birth_?date|date_?of_?birth|birthday|born|birth_?year|year_?of_?birth)($|_)"),
    PIIDetector("phone", r"phone|(^|_)(tel|telephone|fax|cell|mobile)(_?(no|number|nr))?$", r"\+?[\d\s().-]{7,20}",
                values_alone=False),
    PIIDetector("location", None, None, numeric_check=_coordinates),
    PIIDetector(
        "address",
        r"(^|_)(address|street|addr)($|_)|postcode|zip_?code|postal_?code",
        r"\d+\s+\w+(\s\w+)*\s(st|street|rd|road|ave|avenue|blvd|lane|ln|dr|drive|way)\.?",
    ),
    PIIDetector(
        "name",
        r"^name$|(^|_)(first_?name|last_?name|surname|given_?name|family_?name|full_?name|forename|patient_?name"
        r"|person_?name|customer_?name|client_?name|employee_?name|middle_?name|maiden_?name)($|_)",
    ),
]


def register_pii_detector(detector: PIIDetector | Callable[[pd.Series], str | None], *, first: bool = False) -> None:
    """Add a detector (any callable taking a Series and returning a tag or None)."""
    if not callable(detector):
        raise TypeError("a PII detector must be callable")
    if first:
        _DETECTORS.insert(0, detector)  # type: ignore[arg-type]
    else:
        _DETECTORS.append(detector)  # type: ignore[arg-type]


def pii_detectors() -> list:
    """The registered detectors, in the order they are tried."""
    return list(_DETECTORS)


def detect_pii(series: pd.Series) -> str | None:
    """The first tag a registered detector gives ``series``, or ``None``.

    Detectors see a sample of at most ``SAMPLE_SIZE`` non-missing values, named like the column.
    """
    values = series.dropna()
    if len(values) > SAMPLE_SIZE:
        values = values.sample(SAMPLE_SIZE, random_state=0)
    for detector in _DETECTORS:
        tag = detector(values)
        if tag:
            return tag
    return None
