"""Tables: schema, inference, I/O, PII detection and constraints."""

from .constraints import (
    FixedCombinations,
    Formula,
    Inequality,
    Range,
    constraint_from_dict,
)
from .infer import infer_schema
from .io import read, write
from .pii import PIIDetector, detect_pii, register_pii_detector
from .schema import Column, Kind, TableSchema

__all__ = [
    "Column", "Kind", "TableSchema", "infer_schema", "read", "write",
    "PIIDetector", "detect_pii", "register_pii_detector",
    "Inequality", "Range", "Formula", "FixedCombinations", "constraint_from_dict",
]
