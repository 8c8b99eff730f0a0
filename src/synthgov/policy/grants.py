"""Licences and approvals: plain records the decision engine reads, with JSON round-trips.

A :class:`Licence` lets one recipient receive one release in named countries until it
expires or is revoked. An :class:`Approval` is one person's sign-off on one share request
(bound to the request's digest, so it cannot be reused for another request).

>>> import datetime as dt
>>> lic = Licence(licence_id="L-1", release_id="rel-a", recipient="Harbourlight Research Ltd",
...               countries=("FR", "DE"), expires=dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc), granted_by="dpo")
>>> Licence.from_dict(lic.to_dict()) == lic
True
>>> lic.problems(release_id="rel-a", recipient="HARBOURLIGHT RESEARCH", countries=("FR",),
...              now=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
[]
>>> check_licence(lic, release_id="rel-b", recipient="Harbourlight Research", countries=("FR",))
Traceback (most recent call last):
...
synthgov.errors.ParameterError: licence 'L-1' is for release 'rel-a', not 'rel-b' (hint: grant a licence for release 'rel-b')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ParameterError, PolicyDenied
from .countries import country_code
from .names import normalise_name

__all__ = ["Licence", "Approval", "check_licence", "utc_now", "parse_time"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_time(value: Any, *, field: str) -> dt.datetime:
    """An aware datetime from a datetime or ISO-8601 text; naive values are taken as UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ParameterError(f"{field}: {value!r} is not an ISO-8601 time", hint="e.g. 2027-01-31T00:00:00+00:00") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ParameterError(f"{field} must be a datetime or ISO-8601 text, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{field} must be non-empty text, got {value!r}")
    return value.strip()


@dataclasses.dataclass(frozen=True)
class Licence:
    """Permission for ``recipient`` to receive ``release_id`` in ``countries`` until ``expires`` (unless revoked)."""

    licence_id: str
    release_id: str
    recipient: str
    countries: tuple[str, ...]
    expires: dt.datetime
    granted_by: str
    revoked: bool = False
    conditions: str = ""

    def __post_init__(self) -> None:
        for field in ("licence_id", "release_id", "recipient", "granted_by"):
            object.__setattr__(self, field, _text(getattr(self, field), field))
        if isinstance(self.countries, str) or not self.countries:
            raise ParameterError("countries must be a non-empty list of ISO 3166-1 alpha-2 codes", hint="e.g. ('FR', 'DE')")
        object.__setattr__(self, "countries", tuple(country_code(c, field="licence countries") for c in self.countries))
        object.__setattr__(self, "expires", parse_time(self.expires, field="expires"))
        if not isinstance(self.revoked, bool):
            raise ParameterError(f"revoked must be true or false, got {self.revoked!r}")

    def revoke(self) -> Licence:
        return dataclasses.replace(self, revoked=True)

    def problems(self, *, release_id: str, recipient: str, countries: Iterable[str], now: dt.datetime | None = None) -> list[str]:
        """Why this licence does not cover a share (empty when it does)."""
        now = parse_time(now or utc_now(), field="now")
        out = []
        if self.release_id != release_id:
            out.append(f"licence {self.licence_id!r} is for release {self.release_id!r}, not {release_id!r}")
        if normalise_name(self.recipient) != normalise_name(recipient):
            out.append(f"licence {self.licence_id!r} names recipient {self.recipient!r}, not {recipient!r}")
        missing = [c for c in countries if c not in self.countries]
        if missing:
            out.append(f"licence {self.licence_id!r} does not cover {', '.join(missing)}")
        if self.revoked:
            out.append(f"licence {self.licence_id!r} was revoked")
        if now >= self.expires:
            out.append(f"licence {self.licence_id!r} expired on {self.expires.isoformat()}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"licence_id": self.licence_id, "release_id": self.release_id, "recipient": self.recipient,
                "countries": list(self.countries), "expires": self.expires.isoformat(), "granted_by": self.granted_by,
                "revoked": self.revoked, "conditions": self.conditions}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Licence:
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown licence field(s): {', '.join(sorted(unknown))}")
        return cls(**{**data, "countries": tuple(data.get("countries") or ())})


def check_licence(licence: Licence, *, release_id: str, recipient: str, countries: Iterable[str],
                  now: dt.datetime | None = None) -> None:
    """Raise unless ``licence`` covers the share: a licence for another release is a :class:`ParameterError`
    (``SG-LICENCE-RELEASE``); a wrong recipient, country, expiry or revocation is :class:`PolicyDenied`."""
    if not isinstance(licence, Licence):
        raise ParameterError(f"expected a Licence, got {type(licence).__name__}")
    if licence.release_id != release_id:
        raise ParameterError(f"licence {licence.licence_id!r} is for release {licence.release_id!r}, not {release_id!r}",
                             hint=f"grant a licence for release {release_id!r}",
                             details={"code": "SG-LICENCE-RELEASE", "licence": licence.licence_id,
                                      "licence_release": licence.release_id, "release": release_id})
    problems = licence.problems(release_id=release_id, recipient=recipient, countries=tuple(countries), now=now)
    if problems:
        raise PolicyDenied("; ".join(problems), hint="grant a licence that covers this recipient, its countries and today",
                           details={"code": "SG-LICENCE-INVALID", "licence": licence.licence_id, "problems": problems})


@dataclasses.dataclass(frozen=True)
class Approval:
    """``actor``'s approval of the share request whose digest is ``request_id`` (see ShareRequest.request_id)."""

    request_id: str
    actor: str
    at: dt.datetime
    decision_id: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "request_id", _text(self.request_id, "request_id"))
        object.__setattr__(self, "actor", _text(self.actor, "actor"))
        object.__setattr__(self, "at", parse_time(self.at, field="at"))

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "actor": self.actor, "at": self.at.isoformat(),
                "decision_id": self.decision_id, "comment": self.comment}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Approval:
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ParameterError(f"unknown approval field(s): {', '.join(sorted(unknown))}")
        return cls(**data)
