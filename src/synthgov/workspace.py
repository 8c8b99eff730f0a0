"""The workspace: one directory that holds everything synthgov writes by default.

Resolved from, in order: an explicit path, the ``SYNTHGOV_HOME`` environment
variable, then ``./.synthgov`` in the current directory. Nothing is written
outside it unless the user names a path.

>>> import tempfile
>>> ws = Workspace(tempfile.mkdtemp())
>>> ws.outputs.name, ws.models.name
('outputs', 'models')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError

__all__ = ["Workspace", "workspace"]

ENV_VAR = "SYNTHGOV_HOME"


@dataclass(frozen=True)
class Workspace:
    """A synthgov workspace rooted at ``root`` (created on first use)."""

    root: Path

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root = os.environ.get(ENV_VAR) or Path.cwd() / ".synthgov"
        object.__setattr__(self, "root", Path(root).expanduser().resolve())

    def _sub(self, name: str) -> Path:
        path = self.root / name
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the workspace directory {path}: {exc.strerror or exc}",
                              hint=f"set {ENV_VAR} to a writable directory") from None
        return path

    @property
    def outputs(self) -> Path:
        """Synthetic tables written by ``generate`` and ``demo``."""
        return self._sub("outputs")

    @property
    def models(self) -> Path:
        """Saved synthesizers."""
        return self._sub("models")


def workspace(root: str | os.PathLike | None = None) -> Workspace:
    """Return the active workspace (see module docs for how it is found)."""
    return Workspace(root)
