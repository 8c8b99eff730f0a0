"""The catalog: sources, synthesizers, synthetic datasets, releases, evaluations and their lineage.

SQLite in the workspace by default, PostgreSQL by URL; every change is recorded in the
tamper-evident :mod:`synthgov.ledger` in the same transaction. See :mod:`.api`.
"""

from .api import DEFAULT_CHECKPOINT_EVERY, Catalog, open_catalog
from .records import KINDS, LineageNode, Record
from .session import CatalogSession

__all__ = ["open_catalog", "Catalog", "CatalogSession", "Record", "LineageNode", "KINDS", "DEFAULT_CHECKPOINT_EVERY"]
