"""ISO 3166-1 alpha-2 country codes, checked against the table shipped as package data.

The table (``data/iso3166.tab``) is the public-domain copy kept by the IANA time-zone
database. Codes are matched without regard to case and returned upper-case.

>>> country_code("fr")
'FR'
>>> country_name("DE")
'Germany'
>>> country_code("XX")
Traceback (most recent call last):
...
synthgov.errors.ParameterError: unknown country code 'XX' (hint: use an ISO 3166-1 alpha-2 code such as FR, DE or JP)
"""

from __future__ import annotations

import functools
from importlib import resources

from ..errors import ParameterError

__all__ = ["country_code", "country_name", "country_codes", "is_country_code"]


@functools.cache
def _table() -> dict[str, str]:
    text = resources.files(__package__).joinpath("data/iso3166.tab").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t", 1)
            out[code] = name
    return out


def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code known to this synthgov."""
    return frozenset(_table())


def is_country_code(value: object) -> bool:
    """Whether ``value`` is a known alpha-2 code (any case)."""
    return isinstance(value, str) and value.upper() in _table()


def country_code(value: object, *, field: str = "country") -> str:
    """Return ``value`` as an upper-case ISO 3166-1 alpha-2 code, or raise :class:`ParameterError` naming it."""
    if not is_country_code(value):
        raise ParameterError(
            f"unknown country code {value!r}" if field == "country" else f"{field}: unknown country code {value!r}",
            hint="use an ISO 3166-1 alpha-2 code such as FR, DE or JP",
            details={"code": "SG-COUNTRY", "field": field, "value": value if isinstance(value, str) else repr(value)},
        )
    return str(value).upper()


def country_name(code: str) -> str:
    """The usual English name of a code (raises :class:`ParameterError` for an unknown one)."""
    return _table()[country_code(code)]
