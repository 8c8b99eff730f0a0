"""synthgov: governed synthetic data.

The public API. Everything a user needs is importable from here::

    import synthgov as sg
    df = sg.read("data.csv")
    syn = sg.CopulaSynthesizer(random_state=0).fit(df)
    out = syn.sample(1000)
    report = sg.evaluate(df, out)
"""

from . import datasets, provenance, testing
from .errors import (
    CatalogError,
    ConditionError,
    ConstraintError,
    DependencyError,
    InputError,
    IntegrityError,
    KeyFileError,
    LineageDepthError,
    ModelFileError,
    NotFittedError,
    NotFoundError,
    OutputError,
    ParameterError,
    PolicyDenied,
    PolicyError,
    PrivacyBudgetError,
    SchemaError,
    SynthgovError,
)

# ``synthgov.evaluate`` is the function; its package stays importable as
# ``from synthgov.evaluate import Metric, EvalData, ...``.
from .evaluate import (
    FAMILIES,
    Metric,
    MetricResult,
    NotComputed,
    Report,
    available_metrics,
    evaluate,
    get_metric,
    holdout_split,
    metric_definitions,
    register_metric,
)
from .evaluate.collapse import CollapseReport, collapse_test
from .generators import (
    BayesNetSynthesizer,
    CopulaSynthesizer,
    NeuralSynthesizer,
    PrivacyAccount,
    Synthesizer,
    available_synthesizers,
    load_synthesizer,
    register_synthesizer,
    synthesizer,
)
from .generators.hybrid import hybrid
from .generators.partial import partial
from .generators.rebalance import rebalance
from .provenance import package, verify, watermark
from .screen import ScreenReport, screen
from .table import (
    Column,
    FixedCombinations,
    Formula,
    Inequality,
    Kind,
    PIIDetector,
    Range,
    TableSchema,
    detect_pii,
    infer_schema,
    read,
    register_pii_detector,
    write,
)
from .workspace import Workspace, workspace

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "read", "write", "TableSchema", "Column", "Kind", "infer_schema",
    "PIIDetector", "detect_pii", "register_pii_detector",
    "Inequality", "Range", "Formula", "FixedCombinations",
    "Synthesizer", "CopulaSynthesizer", "BayesNetSynthesizer", "NeuralSynthesizer", "PrivacyAccount", "synthesizer", "available_synthesizers",
    "load_synthesizer", "register_synthesizer", "partial", "hybrid", "rebalance",
    "Workspace", "workspace", "datasets", "testing",
    "evaluate", "holdout_split", "Report", "Metric", "MetricResult", "NotComputed", "FAMILIES",
    "register_metric", "available_metrics", "get_metric", "metric_definitions",
    "SynthgovError", "ParameterError", "InputError", "SchemaError", "NotFittedError",
    "ConditionError", "ConstraintError", "ModelFileError", "OutputError", "PrivacyBudgetError",
    "IntegrityError", "PolicyDenied", "KeyFileError",
    "PolicyError", "NotFoundError", "CatalogError", "LineageDepthError", "DependencyError",
    "provenance", "package", "verify", "watermark", "screen", "ScreenReport",
    "collapse_test", "CollapseReport",
]
