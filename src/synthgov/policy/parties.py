"""Denied-party lists and screening names against them.

A list file (CSV or JSON) holds one row per listed party: ``name``, ``aliases`` (``|``
between them in CSV, a list in JSON), ``country`` (ISO alpha-2, optional), ``list`` (the
list's name) and ``list_date`` (ISO date of that list's edition). One file may carry several
lists; each list has one date. Lines starting with ``#`` in a CSV are comments.

:func:`screen` compares a name with every listed name and alias after
:func:`~synthgov.policy.names.normalise_name` (case, punctuation, diacritics, scripts,
legal forms) with ``rapidfuzz`` scores that ignore word order and spacing, and a second pass on
the transliteration :func:`~synthgov.policy.names.skeleton`. It returns every candidate at or
above the threshold with its score and list. Finding nothing is reported as "no match on
lists X dated D", which says what was searched, never that the party is cleared. No list, or
a list older than ``max_age_days``, fails closed (:class:`~synthgov.errors.PolicyError`).

>>> import datetime as dt
>>> lists = parse_party_rows([
...     {"name": "Zentrova Dynamics Ltd", "aliases": ["Зентрова Дайнамикс"], "country": "GB",
...      "list": "FICTITIOUS-A", "list_date": "2026-11-01"}], source="doc")
>>> result = screen("ZENTROVA DYNAMICS GmbH", lists=lists, now=dt.date(2026, 11, 20), max_age_days=30)
>>> [(c.listed_name, c.score, c.list_name) for c in result.candidates]
[('Zentrova Dynamics Ltd', 100.0, 'FICTITIOUS-A')]
>>> print(screen("Harbourlight Bakery", lists=lists, now=dt.date(2026, 11, 20), max_age_days=30).summary)
no match on lists FICTITIOUS-A dated 2026-11-01 (threshold 88)
>>> screen("x", lists=lists, now=dt.date(2027, 1, 20), max_age_days=30)
Traceback (most recent call last):
...
synthgov.errors.PolicyError: denied-party list 'FICTITIOUS-A' dated 2026-11-01 is 80 days old, more than the 30 allowed (hint: load a current edition of the list)
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from ..errors import ParameterError, PolicyError
from .countries import country_code, is_country_code
from .names import compact, consonants, normalise_name, skeleton

__all__ = [
    "PartyEntry",
    "PartyList",
    "Candidate",
    "ScreeningResult",
    "load_party_lists",
    "parse_party_rows",
    "list_problems",
    "screen",
    "screen_many",
    "DEFAULT_THRESHOLD",
]

#: Default fuzzy score (0-100) at which a listed name is reported as a candidate.
DEFAULT_THRESHOLD = 88.0


@dataclasses.dataclass(frozen=True)
class PartyEntry:
    """One listed party: its name, other names it is known by, its country and the list it is on."""

    name: str
    list_name: str
    aliases: tuple[str, ...] = ()
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": list(self.aliases), "country": self.country, "list": self.list_name}


@dataclasses.dataclass(frozen=True)
class PartyList:
    """One edition of a denied-party list: its name, its date, its entries and the file it came from."""

    name: str
    date: dt.date
    entries: tuple[PartyEntry, ...]
    source: str = ""
    sha256: str = ""

    def version(self) -> dict[str, Any]:
        """What a decision records about this list: name, date, file hash, entry count and source."""
        return {"name": self.name, "date": self.date.isoformat(), "sha256": self.sha256,
                "entries": len(self.entries), "source": self.source}

    def age_days(self, now: dt.date | dt.datetime) -> int:
        return (_as_date(now) - self.date).days


def _as_date(value: dt.date | dt.datetime | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.timezone.utc).date()
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.timezone.utc) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    raise ParameterError(f"now must be a date or datetime, got {value!r}")


def _row_error(source: str, line: int | None, field: str, message: str) -> PolicyError:
    where = f"{source}, line {line}" if line else source
    return PolicyError(f"{where}: {field}: {message}", hint="fix the denied-party list file",
                       details={"code": "SG-LIST-MALFORMED", "file": source, "line": line, "field": field})


def parse_party_rows(rows: Iterable[Mapping[str, Any]], *, source: str = "<rows>", sha256: str = "",
                     lines: Sequence[int] | None = None) -> tuple[PartyList, ...]:
    """Build lists from row mappings (keys ``name``, ``aliases``, ``country``, ``list``, ``list_date``)."""
    grouped: dict[str, tuple[dt.date, list[PartyEntry]]] = {}
    for i, row in enumerate(rows):
        line = lines[i] if lines is not None else None
        if not isinstance(row, Mapping):
            raise _row_error(source, line, "row", f"expected a mapping, got {type(row).__name__}")
        unknown = set(row) - {"name", "aliases", "country", "list", "list_date"}
        if unknown:
            raise _row_error(source, line, sorted(unknown)[0], "unknown field; use name, aliases, country, list, list_date")
        values: dict[str, str] = {}
        for field in ("name", "list", "list_date"):
            value = row.get(field)
            if not isinstance(value, str) or not value.strip():
                raise _row_error(source, line, field, "missing or empty")
            values[field] = value.strip()
        try:
            date = dt.date.fromisoformat(values["list_date"])
        except ValueError:
            raise _row_error(source, line, "list_date", f"{values['list_date']!r} is not an ISO date (YYYY-MM-DD)") from None
        aliases = row.get("aliases") or ()
        if isinstance(aliases, str):
            aliases = [a for a in aliases.split("|")]
        if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
            raise _row_error(source, line, "aliases", "must be text (| between aliases) or a list of text")
        country = row.get("country") or None
        if country is not None and not is_country_code(country):
            raise _row_error(source, line, "country", f"unknown country code {country!r}; use ISO 3166-1 alpha-2")
        entry = PartyEntry(name=values["name"], list_name=values["list"],
                           aliases=tuple(a.strip() for a in aliases if a.strip()),
                           country=country_code(country) if country else None)
        if not normalise_name(entry.name):
            raise _row_error(source, line, "name", f"{entry.name!r} has no letters or digits")
        seen_date, entries = grouped.setdefault(values["list"], (date, []))
        if seen_date != date:
            raise _row_error(source, line, "list_date",
                             f"list {values['list']!r} is dated both {seen_date} and {date}; one file holds one edition per list")
        entries.append(entry)
    if not grouped:
        raise PolicyError(f"{source}: the denied-party list has no entries", hint="load a list with at least one row",
                          details={"code": "SG-LIST-EMPTY", "file": source})
    return tuple(PartyList(name=name, date=date, entries=tuple(entries), source=source, sha256=sha256)
                 for name, (date, entries) in sorted(grouped.items()))


def load_party_lists(path: str | os.PathLike) -> tuple[PartyList, ...]:
    """Read a CSV or JSON denied-party list file; a missing or malformed file raises :class:`PolicyError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read denied-party list {str(path)!r}: {exc.strerror or exc}",
                          hint="check the path; screening fails closed without its lists",
                          details={"code": "SG-LIST-MISSING", "file": str(path)}) from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _row_error(str(path), None, "encoding", "the file is not UTF-8") from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _row_error(str(path), exc.lineno, "json", exc.msg) from None
        if not isinstance(rows, list):
            raise _row_error(str(path), 1, "json", "expected an array of rows")
        return parse_party_rows(rows, source=str(path), sha256=digest)
    if path.suffix.lower() != ".csv":
        raise PolicyError(f"{str(path)!r}: a denied-party list must be a .csv or .json file",
                          details={"code": "SG-LIST-MALFORMED", "file": str(path)})
    lines = text.splitlines()
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not body:
        raise PolicyError(f"{path}: the denied-party list has no entries", details={"code": "SG-LIST-EMPTY", "file": str(path)})
    records = [(n, next(csv.reader([line]))) for n, line in body]  # one record per line; names never span lines
    header = [h.strip() for h in records[0][1]]
    rows, row_lines = [], []
    for n, record in records[1:]:
        if len(record) != len(header):
            raise _row_error(str(path), n, "row", f"has {len(record)} fields, the header has {len(header)}")
        rows.append({h: v for h, v in zip(header, record, strict=True) if v != ""})
        row_lines.append(n)
    return parse_party_rows(rows, source=str(path), sha256=digest, lines=row_lines)


def list_problems(lists: Sequence[PartyList], *, max_age_days: int | None, now: dt.date | dt.datetime | None = None,
                  required: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Why these lists cannot be relied on, as ``(code, text)`` pairs; empty when they can."""
    today = _as_date(now)
    problems: list[tuple[str, str]] = []
    if not lists:
        problems.append(("list-missing", "no denied-party list was supplied; screening fails closed"))
    names = {pl.name for pl in lists}
    for name in required:
        if name not in names:
            problems.append(("list-missing", f"the required denied-party list {name!r} was not supplied"))
    for pl in lists:
        age = (today - pl.date).days
        if age < 0:
            problems.append(("list-future", f"denied-party list {pl.name!r} is dated {pl.date}, after today ({today})"))
        elif max_age_days is not None and age > max_age_days:
            problems.append(("list-stale", f"denied-party list {pl.name!r} dated {pl.date} is {age} days old, "
                                           f"more than the {max_age_days} allowed"))
    return problems


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A listed party a screened name may be: the listed name, the name or alias that matched, the score and the list."""

    query: str
    listed_name: str
    matched: str
    score: float
    list_name: str
    list_date: dt.date
    country: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "listed_name": self.listed_name, "matched": self.matched, "score": self.score,
                "list": self.list_name, "list_date": self.list_date.isoformat(), "country": self.country}


@dataclasses.dataclass(frozen=True)
class ScreeningResult:
    """Every candidate for one name, and the list editions searched."""

    query: str
    candidates: tuple[Candidate, ...]
    lists: tuple[dict[str, Any], ...]
    threshold: float

    @property
    def matched(self) -> bool:
        return bool(self.candidates)

    @property
    def summary(self) -> str:
        searched = ", ".join(f"{v['name']} dated {v['date']}" for v in self.lists)
        if not self.candidates:
            return f"no match on lists {searched} (threshold {self.threshold:g})"
        best = "; ".join(f"{c.listed_name!r} on {c.list_name} dated {c.list_date} (score {c.score:.1f})" for c in self.candidates)
        return f"{len(self.candidates)} possible match(es) for {self.query!r}: {best}"

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "threshold": self.threshold, "summary": self.summary,
                "candidates": [c.to_dict() for c in self.candidates], "lists": [dict(v) for v in self.lists]}


@dataclasses.dataclass(frozen=True)
class _Keys:
    norm: list[str]
    comp: list[str]
    full: list[str]
    skel: list[str]
    scomp: list[str]
    cons: list[str]

    @classmethod
    def of(cls, names: Sequence[str]) -> _Keys:
        norm = [normalise_name(n) for n in names]
        skel = [skeleton(n) for n in names]
        return cls(norm, [compact(n) for n in norm], [normalise_name(n, legal_forms=True) for n in names],
                   skel, [compact(s) for s in skel], [consonants(s) for s in skel])


def _scores(queries: _Keys, choices: _Keys) -> np.ndarray:
    """The best of: word-order-free and spacing-free scores on normalised names, on names with their legal
    forms kept (a misspelled "Limted"), on skeletons, and the mean of the skeleton and consonant scores."""
    def cdist(a: list[str], b: list[str], scorer) -> np.ndarray:
        return process.cdist(a, b, scorer=scorer, dtype=np.float32)

    skel = cdist(queries.skel, choices.skel, fuzz.token_sort_ratio)
    parts = [
        cdist(queries.norm, choices.norm, fuzz.token_sort_ratio),
        cdist(queries.comp, choices.comp, fuzz.ratio),
        cdist(queries.full, choices.full, fuzz.token_sort_ratio),
        skel,
        cdist(queries.scomp, choices.scomp, fuzz.ratio),
        (skel + cdist(queries.cons, choices.cons, fuzz.token_sort_ratio)) / 2,
    ]
    return np.maximum.reduce(parts)


def screen_many(names: Sequence[str], *, lists: Sequence[PartyList], threshold: float = DEFAULT_THRESHOLD,
                max_age_days: int | None = None, now: dt.date | dt.datetime | None = None) -> list[ScreeningResult]:
    """:func:`screen` for many names at once (one vectorised pass)."""
    if isinstance(names, str):
        raise ParameterError("names must be a list of names, not one string", hint="use screen() for one name")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < threshold <= 100:
        raise ParameterError(f"threshold must be a score in (0, 100], got {threshold!r}")
    for name in names:
        if not isinstance(name, str) or not normalise_name(name):
            raise ParameterError(f"cannot screen {name!r}: it has no letters or digits", hint="give the party's name")
    problems = list_problems(lists, max_age_days=max_age_days, now=now)
    if problems:
        code, text = problems[0]
        raise PolicyError(text, hint="load a current edition of the list",
                          details={"code": "SG-" + code.upper(), "problems": [t for _, t in problems]})
    keys: list[tuple[str, PartyEntry, PartyList]] = [
        (alias, entry, pl) for pl in lists for entry in pl.entries for alias in (entry.name, *entry.aliases)
    ]
    matrix = _scores(_Keys.of(list(names)), _Keys.of([k for k, _, _ in keys]))
    versions = tuple(pl.version() for pl in lists)
    results = []
    for i, name in enumerate(names):
        best: dict[int, Candidate] = {}
        for j in np.flatnonzero(matrix[i] >= threshold):
            matched, entry, pl = keys[j]
            score = round(float(matrix[i, j]), 1)
            if id(entry) not in best or score > best[id(entry)].score:
                best[id(entry)] = Candidate(query=name, listed_name=entry.name, matched=matched, score=score,
                                            list_name=pl.name, list_date=pl.date, country=entry.country)
        ranked = tuple(sorted(best.values(), key=lambda c: (-c.score, c.list_name, c.listed_name)))
        results.append(ScreeningResult(query=name, candidates=ranked, lists=versions, threshold=float(threshold)))
    return results


def screen(name: str, *, lists: Sequence[PartyList], threshold: float = DEFAULT_THRESHOLD, max_age_days: int | None = None,
           now: dt.date | dt.datetime | None = None) -> ScreeningResult:
    """Screen one name against every list; every candidate at or above ``threshold`` is returned."""
    return screen_many([name], lists=lists, threshold=threshold, max_age_days=max_age_days, now=now)[0]
