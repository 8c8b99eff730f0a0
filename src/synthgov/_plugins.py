"""Loading plugins from an entry-point group: what the generator and metric registries share.

A plugin that fails to import must not break the built-ins (it is reported as a
warning); a plugin that raises a :class:`~synthgov.errors.SynthgovError` while
registering is a declaration error and is raised as is.

>>> load_entry_points("synthgov.no-such-group", lambda name, obj: None, what="example")
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .errors import SynthgovError

__all__ = ["load_entry_points"]


def load_entry_points(group: str, register: Callable[[str, Any], None], *, what: str,
                      skip: Callable[[str], bool] | None = None) -> None:
    """Load every entry point of ``group`` (but those ``skip(name)`` rejects, left unimported) and hand
    ``(name, loaded object)`` to ``register``."""
    for ep in entry_points(group=group):
        if skip is not None and skip(ep.name):
            continue
        try:
            register(ep.name, ep.load())
        except SynthgovError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the built-ins
            warnings.warn(f"{what} plugin {ep.name!r} failed to load: {exc}", stacklevel=3)
