"""The metric contract and the metric registry.

A metric declares what it measures (``name``, ``family``, ``goal``, ``range``),
what it means (``definition``, one paragraph, and ``source``, where the
definition comes from) and, optionally, a default ``threshold`` for the
report's verdict. :meth:`Metric.compute` takes an
:class:`~synthgov.evaluate.data.EvalData` and returns a :class:`MetricResult`.

A metric that cannot be computed raises :class:`NotComputed` with the reason;
the report then shows the reason instead of a number. It never makes a number up.

Built-in metrics register exactly like plugins: through the
``synthgov.metrics`` entry-point group, whose entries point at a module or at a
:class:`Metric` subclass; a module's metrics are the :class:`Metric` subclasses
it defines.

>>> class RowRatio(Metric):
...     name = "row_ratio_example"
...     family = "diversity"
...     goal = "maximize"
...     range = (0.0, 1.0)
...     definition = "Rows of the smaller table over rows of the larger one."
...     source = "this docstring"
...     def compute(self, data):
...         a, b = len(data.real), len(data.synthetic)
...         return MetricResult(value=min(a, b) / max(a, b))
>>> RowRatio().definition_dict()["goal"]
'maximize'
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from .._plugins import load_entry_points
from ..errors import ParameterError

__all__ = [
    "FAMILIES",
    "Metric",
    "MetricResult",
    "NotComputed",
    "register_metric",
    "available_metrics",
    "get_metric",
    "metric_definitions",
]

ENTRY_POINT_GROUP = "synthgov.metrics"

#: The metric families, in the order reports show them.
FAMILIES = ("fidelity", "utility", "privacy", "fairness", "diversity")

_NEEDS = frozenset({"holdout", "target", "sensitive", "quasi_identifiers"})


class NotComputed(Exception):
    """Raised inside :meth:`Metric.compute` when the metric cannot be computed; the message says why."""


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """What a metric measured.

    Attributes:
        value: the headline number (``None`` when not computed).
        ci: a confidence interval ``(low, high)`` where one applies.
        details: breakdowns (per column, per pair, per subgroup) and plot data, JSON-friendly.
        reason: why the metric was not computed (``None`` when it was).
    """

    value: float | None
    ci: tuple[float, float] | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            value = float(self.value)
            if not math.isfinite(value):
                raise ValueError(f"a metric value must be finite, got {self.value!r}")
            object.__setattr__(self, "value", value)
        if self.ci is not None:
            low, high = (float(v) for v in self.ci)
            object.__setattr__(self, "ci", (low, high))

    @property
    def computed(self) -> bool:
        return self.value is not None

    @classmethod
    def not_computed(cls, reason: str) -> MetricResult:
        return cls(value=None, reason=reason)


class Metric(ABC):
    """Base of every metric. Subclasses set the class attributes and implement :meth:`compute`.

    ``needs`` names the inputs without which the metric cannot run (any of
    ``"holdout"``, ``"target"``, ``"sensitive"``, ``"quasi_identifiers"``); the
    report says "not computed: needs a target" rather than calling it.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    goal: ClassVar[str] = "maximize"
    range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    definition: ClassVar[str] = ""
    source: ClassVar[str] = ""
    threshold: ClassVar[float | None] = None
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Whether this metric is part of a family's summary score.
    summary: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls):
            return
        problems = []
        if not isinstance(cls.name, str) or not cls.name.replace("_", "").isalnum():
            problems.append("name must be snake_case text")
        if cls.family not in FAMILIES:
            problems.append(f"family must be one of {', '.join(FAMILIES)}")
        if cls.goal not in ("maximize", "minimize"):
            problems.append("goal must be 'maximize' or 'minimize'")
        if not cls.definition or not cls.source:
            problems.append("definition and source are required")
        if not set(cls.needs) <= _NEEDS:
            problems.append(f"needs may only name {', '.join(sorted(_NEEDS))}")
        if problems:
            raise TypeError(f"metric {cls.__name__}: " + "; ".join(problems))

    @abstractmethod
    def compute(self, data) -> MetricResult:
        """Measure ``data`` (an :class:`~synthgov.evaluate.data.EvalData`); raise :class:`NotComputed` if impossible."""

    def passes(self, value: float, threshold: float) -> bool:
        """Whether ``value`` meets ``threshold`` in this metric's direction."""
        return value >= threshold if self.goal == "maximize" else value <= threshold

    def definition_dict(self) -> dict[str, Any]:
        """What the registry exports: the metric's declaration, without any result.

        An unbounded end of ``range`` is ``None`` (JSON has no infinity).
        """
        return {
            "name": self.name,
            "family": self.family,
            "goal": self.goal,
            "range": [v if math.isfinite(v) else None for v in map(float, self.range)],
            "definition": " ".join(self.definition.split()),
            "source": self.source,
            "threshold": self.threshold,
            "needs": sorted(self.needs),
            "summary": self.summary,
        }


# -- registry --------------------------------------------------------------------
_REGISTRY: dict[str, Metric] = {}
_LOADED = False


def register_metric(metric: type[Metric] | Metric) -> Metric:
    """Register a metric class or instance (what the entry points do for plugins). Returns the instance."""
    if isinstance(metric, type) and issubclass(metric, Metric):
        metric = metric()
    if not isinstance(metric, Metric):
        raise ParameterError(f"{metric!r} is not a Metric subclass or instance")
    _REGISTRY[metric.name] = metric
    return metric


def _metrics_in(obj: Any) -> list[type[Metric]]:
    if isinstance(obj, types.ModuleType):
        return [
            value for value in vars(obj).values()
            if isinstance(value, type) and issubclass(value, Metric) and not inspect.isabstract(value)
            and value.__module__ == obj.__name__
        ]
    return [obj]


def _load_entry_points() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    load_entry_points(ENTRY_POINT_GROUP, _register_entry, what="metric")


def _register_entry(_name: str, obj: Any) -> None:
    for cls in _metrics_in(obj):
        if cls.name not in _REGISTRY:
            register_metric(cls)


def available_metrics() -> dict[str, Metric]:
    """Registered metrics by name, in family order, then by name."""
    _load_entry_points()
    order = {family: i for i, family in enumerate(FAMILIES)}
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (order[kv[1].family], kv[0])))


def get_metric(name: str) -> Metric:
    """The registered metric called ``name``."""
    registry = available_metrics()
    if name not in registry:
        raise ParameterError(f"unknown metric {name!r}", hint="`synthgov metrics` lists them all")
    return registry[name]


def metric_definitions() -> list[dict[str, Any]]:
    """Every registered metric's declaration: the registry of definitions reports and metadata export."""
    return [m.definition_dict() for m in available_metrics().values()]
