"""Small real datasets bundled with synthgov (see ``synthgov/data/README.md`` for origins).

>>> df = load_cps1988()
>>> df.shape
(28155, 7)
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

from .table.io import read

__all__ = ["load_cps1988", "demo_path"]


def demo_path():
    """Path of the bundled CPS1988 CSV (US Census Bureau, public domain)."""
    return files("synthgov") / "data" / "cps1988.csv.gz"


def load_cps1988() -> pd.DataFrame:
    """The March 1988 Current Population Survey extract (28,155 men; wages, education, region...)."""
    return read(str(demo_path()))
