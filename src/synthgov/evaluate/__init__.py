"""Evaluation: fidelity, utility, privacy, fairness and diversity, computed and disclosed.

``synthgov.evaluate(real, synthetic, holdout=...)`` runs every registered
metric and returns a :class:`Report`; ``synthgov metrics`` lists each metric
with its definition. Metrics follow one contract (:class:`Metric`) and register
through the ``synthgov.metrics`` entry points, built-ins included.
"""

from .base import (
    FAMILIES,
    Metric,
    MetricResult,
    NotComputed,
    available_metrics,
    get_metric,
    metric_definitions,
    register_metric,
)
from .collapse import CollapseReport, collapse_test
from .data import MIN_HOLDOUT_ROWS, EvalData, holdout_split
from .report import REPORT_FORMAT, Report
from .run import evaluate

__all__ = [
    "evaluate", "Report", "REPORT_FORMAT", "Metric", "MetricResult", "NotComputed", "FAMILIES",
    "register_metric", "available_metrics", "get_metric", "metric_definitions",
    "EvalData", "holdout_split", "MIN_HOLDOUT_ROWS",
    "collapse_test", "CollapseReport",
]
