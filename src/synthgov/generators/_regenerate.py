"""Fresh values for columns that are never learned: identifiers, free text and PII.

Identifiers become new unique values of the same shape; text becomes
format-preserving placeholders (same character classes, punctuation and word
lengths as the column's typical value, random letters and digits); e-mail
addresses use the reserved ``example.invalid`` domain. Nothing is drawn from
the real values.

>>> import numpy as np
>>> vals = shaped_values("AA-9999", 3, np.random.default_rng(0), unique=True)
>>> [len(v) for v in vals], all(v[2] == "-" for v in vals), len(set(vals))
([7, 7, 7], True, 3)
"""

from __future__ import annotations

import string

import numpy as np

__all__ = ["shaped_values"]

_CLASSES = {"9": string.digits, "A": string.ascii_uppercase, "a": string.ascii_lowercase}


def _draw(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    cols = []
    for ch in shape:
        alphabet = _CLASSES.get(ch)
        if alphabet is None:
            cols.append(np.full(n, ch, dtype="<U1"))
        else:
            letters = np.array(list(alphabet), dtype="<U1")
            cols.append(letters[rng.integers(0, len(letters), n)])
    if not cols:
        return np.full(n, "", dtype=object)
    joined = cols[0].astype(object)
    for c in cols[1:]:
        joined = joined + c.astype(object)
    return joined


def shaped_values(shape: str | None, n: int, rng: np.random.Generator, *, unique: bool, email: bool = False) -> list[str]:
    """``n`` random strings following ``shape``; all distinct when ``unique``."""
    shape = shape or "aaaaaaaa"
    if email:
        local = shape.split("@", 1)[0] or "aaaaaa"
        base = _draw(local, n, rng)  # the domain is the reserved example.invalid, never a real one
        values = [f"{v}@example.invalid" for v in base]
    else:
        values = list(_draw(shape, n, rng))
    if not unique:
        return values
    seen: set[str] = set()
    out: list[str] = []
    counter = 0
    for v in values:
        while v in seen:  # collisions are rare for any realistic shape; a suffix settles the rest
            counter += 1
            v = f"{v}{counter}" if not email else v.replace("@", f"{counter}@", 1)
        seen.add(v)
        out.append(v)
    return out
