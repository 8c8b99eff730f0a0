"""Fidelity: how closely the synthetic rows reproduce the real ones, per column, per pair and as a whole.

Column shapes (``ks_complement``, ``tv_complement``, ``missing_similarity``),
pair trends (``correlation_similarity``, ``contingency_similarity``), whole
rows (``detection_auc``, ``knn_precision``, ``knn_recall``) and the overall
``fidelity_score``. This module declares the metrics (definitions, details,
plots); the computations live in private modules: the exact formulas in
``_stats``, the column and pair statistics (computed once per evaluation
through :meth:`EvalData.memo <synthgov.evaluate.data.EvalData.memo>` and shared)
in ``_column_stats``, the marginals plot in ``_marginals``, the real-vs-synthetic
classifier in ``_detection`` and the k-NN manifolds in ``_manifold``.

A hand-worked example: the real column ``x`` is 1, 2, 3, 4 and the synthetic one
1, 2, 3, 9, so the two empirical CDFs differ by at most 1/4 (between 4 and 9);
the real categories are a, a, b, missing and the synthetic ones a, b, b,
missing, so the shares (1/2, 1/4, 1/4) and (1/4, 1/2, 1/4) are 1/4 apart in
total variation.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData, get_metric
>>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", None]})
>>> synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0], "c": ["a", "b", "b", None]})
>>> data = EvalData.prepare(real, synthetic, holdout=real)
>>> get_metric("ks_complement").compute(data).value
0.75
>>> get_metric("tv_complement").compute(data).value
0.75
>>> get_metric("missing_similarity").compute(data).value
1.0
"""

from __future__ import annotations

import math

import numpy as np

from ._column_stats import (
    MIN_PAIR_ROWS,
    PAIR_BINS,
    PAIR_CAP,
    PAIR_LEVELS,
    ROW_CAP,
    column_shapes,
    contingency,
    correlations,
    missing_rates,
    row_view,
)
from ._detection import (
    DETECTION_FOLDS,
    DETECTION_LEVELS,
    DETECTION_MIN_COUNT,
    DETECTION_ROWS,
    DETECTION_TREES,
    detect,
    hanley_mcneil_interval,
    rank_auc,
    roc_points,
)
from ._manifold import PRD_K, PRD_ROWS, knn_precision_recall
from ._marginals import marginals_plot
from ._stats import ks_statistic, pairwise_correlation, total_variation, wilson_interval
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "ks_statistic",
    "total_variation",
    "wilson_interval",
    "pairwise_correlation",
    "pair_trends",
    "KSComplement",
    "TVComplement",
    "MissingSimilarity",
    "CorrelationSimilarity",
    "ContingencySimilarity",
    "DetectionAUC",
    "KNNPrecision",
    "KNNRecall",
    "FidelityScore",
]

#: Columns shown in the correlation-difference heatmap (the ones that differ most).
HEATMAP_COLUMNS = 40


def _r(value: float | None, digits: int = 6) -> float | None:
    """A JSON-friendly rounded float (``None`` for missing or not finite)."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


# -- column shapes -----------------------------------------------------------------------------
class KSComplement(Metric):
    name = "ks_complement"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each numeric and datetime column, one minus the Kolmogorov-Smirnov statistic: the largest gap "
        "between the real and the synthetic cumulative distributions, over the values that are present. "
        "1 means the two distributions are identical; 0 means they do not overlap at all. The value is the "
        "mean over columns; details give each column. Missing values are ignored here (see missing_similarity); "
        f"a column the synthetic table leaves entirely empty scores 0. On tables of more than {ROW_CAP:,} rows a "
        f"seeded sample of {ROW_CAP:,} rows per table is used, which adds a little noise (about 0.01)."
    )
    source = "SDMetrics KSComplement; Kolmogorov-Smirnov two-sample statistic"

    def compute(self, data) -> MetricResult:
        shapes = column_shapes(data)
        numeric = {n: s for n, s in shapes.items() if s["kind"] == "numeric"}
        if not any(s["score"] is not None for s in numeric.values()):
            raise NotComputed("no numeric or datetime column to compare")
        view = row_view(data)
        return MetricResult(
            value=_mean(s["score"] for s in numeric.values()),
            details={
                "columns": {n: {"score": _r(s["score"]), "ks_statistic": _r(s["ks_statistic"]),
                                **({"note": s["note"]} if "note" in s else {})} for n, s in numeric.items()},
                "rows_used": view.rows_used, "method": view.method,
            },
        )


class TVComplement(Metric):
    name = "tv_complement"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each categorical and boolean column, one minus the total variation distance between the real and "
        "the synthetic category shares (half the sum of the absolute differences), with missing counted as a "
        "category of its own. 1 means every category, and missingness, has the same share; 0 means the two "
        "tables share no category. The value is the mean over columns; details give each column."
    )
    source = "SDMetrics TVComplement"

    def compute(self, data) -> MetricResult:
        shapes = column_shapes(data)
        categorical = {n: s for n, s in shapes.items() if s["kind"] == "categorical"}
        if not categorical:
            raise NotComputed("no categorical or boolean column to compare")
        view = row_view(data)
        return MetricResult(
            value=_mean(s["score"] for s in categorical.values()),
            details={
                "columns": {n: {"score": _r(s["score"]), "tvd": _r(s["tvd"]), "levels": s["levels"]}
                            for n, s in categorical.items()},
                "rows_used": view.rows_used, "method": view.method,
            },
        )


class MissingSimilarity(Metric):
    name = "missing_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each column, one minus the absolute difference between the share of missing values in the real "
        "and in the synthetic table. 1 means every column is missing exactly as often as in the real data. "
        "The value is the mean over columns. It says nothing about which rows are missing together; "
        "missing_pattern_similarity (diversity) does."
    )
    source = "SDMetrics MissingValueSimilarity"

    def compute(self, data) -> MetricResult:
        rates = missing_rates(data)
        return MetricResult(
            value=_mean(v["score"] for v in rates.values()),
            details={"columns": {n: {k: _r(x) for k, x in v.items()} for n, v in rates.items()},
                     "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic)}, "method": "exact"},
        )


# -- pair trends ------------------------------------------------------------------------------------
class CorrelationSimilarity(Metric):
    name = "correlation_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each pair of numeric or datetime columns, 1 - |r_real - r_synthetic| / 2, where r is Spearman's "
        "rank correlation (ranks over each column's present values, correlated over the rows where both are "
        "present; robust to skew and outliers, and blind to non-monotone relations). 1 means the pair is "
        "correlated exactly as in the real data. The value is the mean over pairs; pairs whose correlation is "
        f"undefined (a constant column, fewer than {MIN_PAIR_ROWS} rows with both values) are listed, not scored. "
        "The heatmap shows synthetic minus real correlation."
    )
    source = "SDMetrics CorrelationSimilarity (Spearman coefficient)"

    def compute(self, data) -> MetricResult:
        corr = correlations(data)
        if not corr["pairs"]:
            raise NotComputed("no pair of numeric columns has a defined correlation in both tables")
        columns, real, synthetic = corr["columns"], corr["real"], corr["synthetic"]
        diff = synthetic - real
        shown = list(range(len(columns)))
        title = "Spearman correlation, synthetic minus real"
        if len(columns) > HEATMAP_COLUMNS:
            worst = np.nan_to_num(np.abs(diff), nan=0.0).mean(axis=1)
            shown = sorted(np.argsort(-worst, kind="stable")[:HEATMAP_COLUMNS].tolist())
            title += f" ({HEATMAP_COLUMNS} of {len(columns)} columns, those that differ most)"
        matrix = [[_r(diff[i, j], 4) for j in shown] for i in shown]
        view = row_view(data)
        position = {name: i for i, name in enumerate(columns)}
        pairs = [[a, b, _r(real[position[a], position[b]], 4), _r(synthetic[position[a], position[b]], 4), _r(v, 4)]
                 for (a, b), v in sorted(corr["pairs"].items(), key=lambda kv: kv[1])]
        return MetricResult(
            value=_mean(corr["pairs"].values()),
            details={
                "coefficient": "spearman", "pair_fields": ["column", "column", "real", "synthetic", "score"],
                "pairs": pairs, "undefined_pairs": corr["undefined"],
                "rows_used": view.rows_used, "method": view.method,
                "plot": {"type": "heatmap", "title": title, "labels": [columns[i] for i in shown],
                         "matrix": matrix, "vmin": -1.0, "vmax": 1.0},
            },
        )


class ContingencySimilarity(Metric):
    name = "contingency_similarity"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each pair of columns, one minus the total variation distance between the real and the synthetic "
        f"joint distributions of the pair. Numeric and datetime columns are cut into {PAIR_BINS} quantile bins of "
        f"the real values; categorical columns keep their {PAIR_LEVELS} most frequent real levels and pool the "
        "rest as 'other'; missing is a level of its own. So every kind of pair is covered. 1 means the pair's "
        f"cross-table matches exactly. The value is the mean over pairs. With more than {PAIR_CAP:,} pairs a "
        f"seeded sample of {PAIR_CAP:,} is scored (stated in details). Binning hides differences within a bin, and sampling "
        "noise alone lowers the score of small tables (2,000 real loans rows score about 0.95 against 8,000 "
        "others)."
    )
    source = "SDMetrics ContingencySimilarity (numeric columns discretised)"

    def compute(self, data) -> MetricResult:
        cont = contingency(data)
        view = row_view(data)
        return MetricResult(
            value=_mean(cont["pairs"].values()),
            details={
                "pair_fields": ["column", "column", "score"],
                "pairs": [[a, b, _r(v, 4)] for (a, b), v in sorted(cont["pairs"].items(), key=lambda kv: kv[1])],
                "pairs_scored": len(cont["pairs"]), "pairs_total": cont["total_pairs"],
                "pair_method": cont["method"], "bins": PAIR_BINS, "levels_kept": PAIR_LEVELS,
                "rows_used": view.rows_used, "method": view.method,
            },
        )


# -- whole rows -----------------------------------------------------------------------------------
class DetectionAUC(Metric):
    name = "detection_auc"
    family = "fidelity"
    goal = "minimize"
    range = (0.0, 1.0)
    # Hosmer & Lemeshow's rule of thumb calls AUC >= 0.8 "excellent discrimination": past it a classifier
    # tells most synthetic rows from real ones, so the table does not pass as real data.
    threshold = 0.8
    definition = (
        f"A gradient-boosting classifier (scikit-learn HistGradientBoosting, {DETECTION_TREES} trees of up to 15 "
        f"leaves) is trained to tell real rows from synthetic ones on {DETECTION_ROWS:,} rows drawn from each "
        f"table (fewer if a table is smaller), with {DETECTION_FOLDS}-fold cross-validation (folds balanced by "
        "class, identical rows kept in one fold); the value is the ROC AUC of its out-of-fold predictions. "
        f"A categorical column keeps apart its {DETECTION_LEVELS} levels with the most rows (at least "
        f"{DETECTION_MIN_COUNT}) in either table and pools the rest, so one-off values do not give rows away. "
        "0.5 is ideal (the classifier cannot tell the tables apart); 1 means every synthetic row gives itself "
        "away. The interval is Hanley and McNeil's 95% interval. Details list the columns whose shuffling "
        "costs the classifier most AUC (permutation importance on one fold): the ones that give synthetic rows "
        "away. A stronger classifier could separate the tables better, so a low value is not proof that they "
        "are indistinguishable."
    )
    source = "SDMetrics detection metrics (LogisticDetection), with a gradient-boosting classifier; Hanley & McNeil 1982"

    def compute(self, data) -> MetricResult:
        det = detect(data)
        y, score, n = det.labels, det.scores, det.rows
        auc = rank_auc(y, score)
        top = sorted(det.auc_drop.items(), key=lambda kv: -kv[1])[:10]
        fpr, tpr = roc_points(y, score)
        return MetricResult(
            value=auc, ci=hanley_mcneil_interval(auc, int((y == 1).sum()), int((y == 0).sum())),
            details={
                "fold_auc": [_r(a) for a in det.fold_auc], "folds": DETECTION_FOLDS,
                "giveaway_columns": [{"column": k, "auc_drop": _r(v)} for k, v in top if v > 0],
                "rows_used": {"real": n, "synthetic": n},
                "method": "exact" if n == max(len(data.real), len(data.synthetic)) else
                f"subsampled to {n} rows per table (seeded)",
                "plot": {"type": "roc", "fpr": fpr, "tpr": tpr, "auc": _r(auc, 4)},
            },
        )


_PRD_CAVEAT = (
    "Distances are Gower-like (numeric columns scaled by the real range, a categorical mismatch counts 1). "
    f"Both tables are cut to the same number of rows, at most {PRD_ROWS:,} (seeded), since the balls shrink as rows "
    "grow; the interval is Wilson's 95% interval, which treats rows as independent and so is approximate. "
    "Outliers widen the balls and can inflate both figures."
)


class KNNPrecision(Metric):
    name = "knn_precision"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "Precision of the synthetic distribution (Kynkäänniemi et al.): around every real row draw the ball "
        f"reaching its {PRD_K}th nearest real neighbour; precision is the share of synthetic rows that fall inside at "
        "least one ball. 1 means every synthetic row looks like it could come from the real data; a low value "
        "means implausible rows. " + _PRD_CAVEAT
    )
    source = "Kynkäänniemi et al. 2019, Improved Precision and Recall Metric for Assessing Generative Models"

    def compute(self, data) -> MetricResult:
        prd = knn_precision_recall(data)
        return MetricResult(value=prd["precision"] / prd["n"], ci=wilson_interval(prd["precision"], prd["n"]),
                            details={"k": PRD_K, "inside": prd["precision"], "rows_used": {"real": prd["n"],
                                     "synthetic": prd["n"]}, "method": prd["method"]})


class KNNRecall(Metric):
    name = "knn_recall"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "Recall of the synthetic distribution (Kynkäänniemi et al.): around every synthetic row draw the ball "
        f"reaching its {PRD_K}th nearest synthetic neighbour; recall is the share of real rows that fall inside at "
        "least one ball. 1 means the synthetic rows cover all of the real data; a low value means parts of the "
        "real data (modes, rare combinations) are missing. " + _PRD_CAVEAT
    )
    source = "Kynkäänniemi et al. 2019, Improved Precision and Recall Metric for Assessing Generative Models"

    def compute(self, data) -> MetricResult:
        prd = knn_precision_recall(data)
        return MetricResult(value=prd["recall"] / prd["n"], ci=wilson_interval(prd["recall"], prd["n"]),
                            details={"k": PRD_K, "inside": prd["recall"], "rows_used": {"real": prd["n"],
                                     "synthetic": prd["n"]}, "method": prd["method"]})


# -- overall -------------------------------------------------------------------------------------------
def pair_trends(data) -> dict[tuple[str, str], tuple[str, float]]:
    """The pairs contingency similarity scores, each with its trend score: correlation similarity for two
    numeric columns (where defined), contingency similarity otherwise."""
    cont = contingency(data)
    corr = correlations(data)["pairs"] if len(data.numeric) >= 2 else {}
    return {pair: ("correlation", corr[pair]) if pair in corr else ("contingency", score)
            for pair, score in cont["pairs"].items()}


class FidelityScore(Metric):
    name = "fidelity_score"
    family = "fidelity"
    goal = "maximize"
    range = (0.0, 1.0)
    # A team convention, not a standard: below 0.8 the columns or pairs differ by a fifth of their mass on
    # average, which shows in any analysis. Override it with thresholds={"fidelity_score": ...}.
    threshold = 0.8
    summary = True
    definition = (
        "The mean of two scores. Column shapes: the mean over all columns of the KS complement (numeric, "
        "datetime) or the TV complement (categorical, boolean). Pair trends: the mean, over the column pairs "
        "that contingency_similarity scores, of the correlation similarity (two numeric columns) or the "
        "contingency similarity (any other pair). 1 means every column and every pair matches the real data. A single "
        "number hides where it fails: details break it down per column (its shape and the mean of its pairs) "
        "and list the worst pairs, and the plot overlays each column's real and synthetic distribution. "
        "It does not measure whole rows (see detection_auc) or privacy."
    )
    source = "SDMetrics QualityReport (Column Shapes and Column Pair Trends)"

    def compute(self, data) -> MetricResult:
        shapes = column_shapes(data)
        missing = missing_rates(data)
        column_shape = _mean(s["score"] for s in shapes.values())
        trends = pair_trends(data) if len(data.columns) >= 2 else {}
        pair_score = _mean(score for _, score in trends.values()) if trends else None
        value = column_shape if pair_score is None else (column_shape + pair_score) / 2.0
        per_column: dict[str, list[float]] = {name: [] for name in data.columns}
        for (a, b), (_, score) in trends.items():
            per_column[a].append(score)
            per_column[b].append(score)
        columns = {
            name: {"kind": shapes[name]["kind"], "shape": _r(shapes[name]["score"]),
                   "shape_measure": shapes[name]["measure"],
                   "pair_trend": _r(_mean(per_column[name])) if per_column[name] else None,
                   "missing_similarity": _r(missing[name]["score"])}
            for name in data.columns
        }
        worst = sorted(trends.items(), key=lambda kv: kv[1][1])[:20]
        view = row_view(data)
        details = {
            "column_shapes": _r(column_shape), "pair_trends": _r(pair_score),
            "columns": columns,
            "worst_pairs": [{"columns": list(k), "measure": m, "score": _r(s)} for k, (m, s) in worst],
            "pairs_scored": len(trends),
            "pair_method": contingency(data)["method"] if trends else "only one column: pair trends not scored",
            "rows_used": view.rows_used, "method": view.method,
            "plot": marginals_plot(data),
        }
        return MetricResult(value=value, details=details)
