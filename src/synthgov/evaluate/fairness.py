"""Fairness metrics: are the sensitive subgroups represented, and served, as well as in the real data?

A subgroup is one value of a sensitive column (``ethnicity=afam``), or a
quartile of a numeric one (``age < 31``); missing values form their own
subgroup. Representation compares shares of rows; the two model-based metrics
reuse the utility models (:mod:`synthgov.evaluate._models`) and score them per
subgroup on the real holdout rows.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData
>>> real = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 60, "x": range(100)})
>>> synthetic = pd.DataFrame({"sex": ["f"] * 25 + ["m"] * 75, "x": range(100)})
>>> data = EvalData.prepare(real, synthetic, holdout=real, sensitive=["sex"])
>>> round(SubgroupRepresentation().compute(data).value, 6)  # 40% of real rows, 25% of synthetic ones
0.15
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ..table.schema import Kind
from . import _models as M
from .base import Metric, MetricResult, NotComputed

__all__ = ["SubgroupRepresentation", "SubgroupUtility", "Augmentation", "subgroup_labeller"]

MISSING = "(missing)"
#: Distinct values up to which a numeric sensitive column is grouped by value, not by quartile.
MAX_NUMERIC_VALUES = 10
#: Intersections are formed only between columns with at most this many subgroups each.
MAX_INTERSECTION_LEVELS = 20
#: Subgroups drawn in a bar chart, at most.
MAX_BARS = 20
#: Intersection rows kept in the details (largest differences first).
MAX_INTERSECTION_ROWS = 200


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _fmt_date(value: float) -> str:
    """A datetime column's value (seconds since 1970, UTC) as a date, with the time when it has one."""
    stamp = pd.Timestamp(value, unit="s")
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")


def subgroup_labeller(data, column: str) -> Callable[[pd.DataFrame], pd.Series]:
    """A function frame -> the subgroup label of each row for sensitive ``column``.

    Categorical values label themselves (``"sex=f"``); a numeric column with few
    distinct real values is grouped by value, otherwise by the real quartiles
    (``"age < 31"``, ``"31 ≤ age < 45"``, ``"age ≥ 60"``; a datetime column's bounds
    are written as dates); missing values are ``"sex=(missing)"``.
    """
    def compute():
        if column in data.categorical:
            def label(frame: pd.DataFrame) -> pd.Series:
                values = frame[column].astype(object).where(frame[column].notna(), MISSING)
                mapping = {v: f"{column}={v}" for v in pd.unique(values)}
                return values.map(mapping)
            return label
        fmt = _fmt_date if data.schema[column].kind is Kind.DATETIME else _fmt
        x = data.real[column].to_numpy(dtype=float)
        distinct = np.unique(x[np.isfinite(x)])
        if distinct.size <= MAX_NUMERIC_VALUES:
            edges = (distinct[1:] + distinct[:-1]) / 2.0
            names = [f"{column}={fmt(v)}" for v in distinct]
        else:
            edges = np.unique(np.quantile(x[np.isfinite(x)], [0.25, 0.5, 0.75]))
            names = ([f"{column} < {fmt(edges[0])}"]
                     + [f"{fmt(a)} ≤ {column} < {fmt(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
                     + [f"{column} ≥ {fmt(edges[-1])}"])
        table = np.array(names + [f"{column}={MISSING}"], dtype=object)

        def label(frame: pd.DataFrame) -> pd.Series:
            v = frame[column].to_numpy(dtype=float)
            idx = np.where(np.isfinite(v), np.searchsorted(edges, v, side="right"), len(names))
            return pd.Series(table[idx], index=frame.index)
        label.order = list(table)  # bins read best low to high
        return label

    return data.memo(f"fairness:labeller:{column}", compute)


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


# -- representation ----------------------------------------------------------------------------
def _counts(labels: pd.Series | pd.DataFrame) -> dict[str, int]:
    counts = labels.value_counts(sort=True)
    if isinstance(labels, pd.DataFrame):  # an intersection: one label per column, joined
        return {" & ".join(key): int(n) for key, n in counts.items()}
    return {str(key): int(n) for key, n in counts.items()}


def _ordered(groups: list[str], order: list[str] | None) -> list[str]:
    """``groups`` in ``order`` (a numeric column's bins, low to high) where one is given, else as they come."""
    if not order:
        return groups
    rank = {g: i for i, g in enumerate(order)}
    return sorted(groups, key=lambda g: rank.get(g, len(rank)))


def _shares(real: pd.Series | pd.DataFrame, synthetic: pd.Series | pd.DataFrame,
            order: list[str] | None = None) -> list[dict[str, Any]]:
    """One record per subgroup (most frequent in the real rows first, or in ``order``): shares and their difference."""
    rc, sc = _counts(real), _counts(synthetic)
    out = []
    for g in _ordered(list(rc) + [g for g in sc if g not in rc], order):
        r, s = rc.get(g, 0), sc.get(g, 0)
        rs, ss = r / len(real), s / len(synthetic)
        out.append({"subgroup": g, "real_share": rs, "synthetic_share": ss, "difference": ss - rs,
                    "real_rows": r, "synthetic_rows": s})
    return out


class SubgroupRepresentation(Metric):
    name = "subgroup_representation"
    family = "fairness"
    goal = "minimize"
    range = (0.0, 1.0)
    threshold = 0.05
    needs = frozenset({"sensitive"})
    summary = True
    definition = (
        "How faithfully the synthetic table represents each sensitive subgroup: for every value of each "
        "sensitive column (numeric columns by quartile), and for every combination of values of two sensitive "
        "columns (each with at most 20 subgroups), the share of synthetic rows in the subgroup is compared with "
        "its share of real training rows. The value is the largest absolute difference in share (0.05 = five "
        "percentage points); 0 is ideal. The details list every subgroup with both shares and name those absent "
        "from the synthetic table. Caveats: a subgroup holding 1% of the real rows can vanish entirely and move "
        "the value by only 0.01, so read the absent list too; and equal shares say nothing about whether a "
        "subgroup's rows are realistic."
    )
    source = "Bhanot et al. 2021, The Problem of Fairness in Synthetic Healthcare Data (Entropy 23(9))"

    def compute(self, data) -> MetricResult:
        labels = {c: (subgroup_labeller(data, c)(data.real), subgroup_labeller(data, c)(data.synthetic))
                  for c in data.sensitive}
        single = [row for c in data.sensitive
                  for row in _shares(*labels[c], order=getattr(subgroup_labeller(data, c), "order", None))]
        pairs = []
        small = [c for c in data.sensitive if labels[c][0].nunique() <= MAX_INTERSECTION_LEVELS]
        for a, b in combinations(small, 2):
            pairs.extend(_shares(pd.DataFrame({a: labels[a][0], b: labels[b][0]}),
                                 pd.DataFrame({a: labels[a][1], b: labels[b][1]})))
        every = single + pairs
        worst = max(every, key=lambda r: abs(r["difference"]))
        absent = [r["subgroup"] for r in every if r["real_rows"] > 0 and r["synthetic_rows"] == 0]
        pairs.sort(key=lambda r: -abs(r["difference"]))
        shown = single if len(single) <= MAX_BARS else sorted(single, key=lambda r: -abs(r["difference"]))[:MAX_BARS]
        details: dict[str, Any] = {
            "worst_subgroup": worst["subgroup"],
            "worst_real_share": worst["real_share"],
            "worst_synthetic_share": worst["synthetic_share"],
            "absent_from_synthetic": absent,
            "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic), "method": "exact"},
            "subgroups": single,
        }
        if pairs:
            details["intersections"] = pairs[:MAX_INTERSECTION_ROWS]
            details["intersections_total"] = len(pairs)
        details["plot"] = {"type": "bars", "title": "Share of rows per subgroup",
                           "groups": [r["subgroup"] for r in shown],
                           "series": {"real": [r["real_share"] for r in shown],
                                      "synthetic": [r["synthetic_share"] for r in shown]},
                           "ylabel": "share of rows"}
        return MetricResult(value=abs(worst["difference"]), details=details)


# -- utility per subgroup -----------------------------------------------------------------------
def _groups(fit: M.Fitted, data) -> list[tuple[str, str, np.ndarray]]:
    """(column, subgroup label, holdout row mask) for every subgroup of every sensitive column: largest
    first, or a numeric column's bins low to high."""
    out = []
    for column in data.sensitive:
        labeller = subgroup_labeller(data, column)
        labels = labeller(fit.test)
        for group in _ordered([str(g) for g in labels.value_counts().index], getattr(labeller, "order", None)):
            out.append((column, group, (labels == group).to_numpy()))
    return out


class SubgroupUtility(Metric):
    name = "subgroup_utility"
    family = "fairness"
    goal = "minimize"
    range = (-1.0, 1.0)
    needs = frozenset({"target", "sensitive"})
    definition = (
        "Whether a model trained on synthetic rows serves every sensitive subgroup as well as one trained on "
        "real rows. The two utility models (train on real, train on synthetic) are scored separately on the "
        "real holdout rows of each subgroup: ROC AUC for a categorical target, R² for a numeric one (negative "
        "counted as 0). The value is the largest gap, real-trained score minus synthetic-trained score, over "
        "the subgroups; 0 or below is ideal, and a gap much larger than the overall gap (in the details) means "
        "the synthetic data fails that subgroup in particular. Subgroups with fewer than 30 holdout rows are "
        "listed as too small and not scored. Caveats: the worst of many noisy gaps is biased upward; the interval "
        "is a bootstrap of the worst subgroup's gap over its holdout rows, models fixed."
    )
    source = ("Bhanot et al. 2021, The Problem of Fairness in Synthetic Healthcare Data (Entropy 23(9)); "
              "TSTR as in Esteban, Hyland & Rätsch 2017")

    def compute(self, data) -> MetricResult:
        fit = M.fitted(data)
        task = fit.task
        label = "ROC AUC" if task.classification else "R²"
        overall = {k: _clean(M.primary(task, fit.y, p)[0]) for k, p in fit.pred.items()}
        scored, too_small, unscored = [], [], []
        for column, group, mask in _groups(fit, data):
            n = int(mask.sum())
            if n < M.MIN_SUBGROUP_ROWS:
                too_small.append({"subgroup": group, "n_test": n})
                continue
            y = fit.y[mask]
            real = _clean(M.primary(task, y, fit.pred["real"][mask])[0])
            synthetic = _clean(M.primary(task, y, fit.pred["synthetic"][mask])[0])
            if real is None or synthetic is None:
                unscored.append({"subgroup": group, "n_test": n,
                                 "reason": "one class only" if task.classification else "target does not vary"})
                continue
            extra = M.point_scores(task, y, fit.pred["real"][mask]), M.point_scores(task, y, fit.pred["synthetic"][mask])
            second = "accuracy" if task.classification else "mae"
            scored.append({"subgroup": group, "column": column, "n_test": n, "train_on_real": real,
                           "train_on_synthetic": synthetic, "gap": real - synthetic,
                           f"{second}_train_on_real": extra[0][second],
                           f"{second}_train_on_synthetic": extra[1][second], "_mask": mask})
        if not scored:
            why = ([f"too small: {', '.join(r['subgroup'] for r in too_small)}"] if too_small else []) + (
                [f"{unscored[0]['reason']} in the holdout rows of: {', '.join(r['subgroup'] for r in unscored)}"]
                if unscored else [])
            raise NotComputed(f"no subgroup has at least {M.MIN_SUBGROUP_ROWS} holdout rows with a scorable "
                              f"{label}" + (f" ({'; '.join(why)})" if why else ""))
        worst = max(scored, key=lambda r: r["gap"])
        mask = worst["_mask"]
        weights = M.bootstrap_weights(data.rng(self.name), int(mask.sum()))
        boot = (M.primary(task, fit.y[mask], fit.pred["real"][mask], weights)
                - M.primary(task, fit.y[mask], fit.pred["synthetic"][mask], weights))
        rows = [{k: v for k, v in r.items() if k != "_mask"} for r in scored]
        shown = rows if len(rows) <= MAX_BARS else sorted(rows, key=lambda r: -r["gap"])[:MAX_BARS]
        overall_gap = (None if None in overall.values() else overall["real"] - overall["synthetic"])
        details = {
            **fit.task.describe(),
            "score": label,
            "worst_subgroup": worst["subgroup"],
            "overall_train_on_real": overall["real"],
            "overall_train_on_synthetic": overall["synthetic"],
            "overall_gap": overall_gap,
            "min_subgroup_rows": M.MIN_SUBGROUP_ROWS,
            "subgroups": rows,
            "too_small": too_small,
            "not_scored": unscored,
            "rows_used": fit.rows_used(),
            "plot": {"type": "bars", "title": f"{label} per subgroup on real holdout rows",
                     "groups": [r["subgroup"] for r in shown],
                     "series": {"train on real": [r["train_on_real"] for r in shown],
                                "train on synthetic": [r["train_on_synthetic"] for r in shown]},
                     "ylabel": label},
        }
        return MetricResult(value=float(np.clip(worst["gap"], -1.0, 1.0)),
                            ci=M.percentile_ci(boot, -1.0, 1.0), details=details)


# -- augmentation -------------------------------------------------------------------------------
def _aug_score(task: M.Task, y: np.ndarray, pred: np.ndarray, weights=None) -> np.ndarray:
    if task.classification:
        return M.accuracy(y, pred, weights)
    return np.maximum(M.r2(y, pred, weights), 0.0)


class Augmentation(Metric):
    name = "augmentation"
    family = "fairness"
    goal = "maximize"
    range = (-1.0, 1.0)
    needs = frozenset({"target", "sensitive"})
    definition = (
        "Whether adding synthetic rows of an under-represented subgroup to the real training data helps a model "
        "on that subgroup (the 'no synthetic / + synthetic' table, measured). For each sensitive column the "
        "subgroup with the smallest share of real training rows (among those with at least 30 holdout rows) is "
        "picked; one gradient-boosting model is trained on the real training rows alone and another on the real "
        "training rows plus the synthetic rows of that subgroup (all of them, or a random 20,000), and both are "
        "scored per subgroup on the real holdout rows: accuracy for a categorical target, R² for a numeric one (negative counted as 0). The value "
        "is the change in the picked subgroup's score (the smallest such change over the sensitive columns): "
        "above 0 the synthetic rows helped it, below 0 they hurt it. The table shows every subgroup, so a gain "
        "bought with another subgroup's loss is visible. Caveats: one model family and one training run; with "
        "few holdout rows the change is noisy (the interval is a paired bootstrap over that subgroup's holdout "
        "rows, models fixed)."
    )
    source = ("synthgov: real-only vs real + synthetic subgroup rows, scored on real holdout rows "
              "(train-on-augmented, test-on-real)")

    def _augmented(self, data, fit: M.Fitted, column: str, group: str, rows: pd.DataFrame):
        def compute():
            combined = pd.concat([fit.train["real"], rows], ignore_index=True)
            model = M.fit_model(data, fit.task, combined)
            return M.predict(fit.task, model, fit.X_test)

        return data.memo(f"fairness:augmented:{column}:{group}", compute)

    def compute(self, data) -> MetricResult:
        fit = M.fitted(data)
        task = fit.task
        score = "accuracy" if task.classification else "R²"
        groups = _groups(fit, data)
        table, experiments, skipped = [], [], []
        for column in data.sensitive:
            real_labels = subgroup_labeller(data, column)(data.real)
            real_share = real_labels.value_counts(normalize=True)
            mine = [(g, m) for c, g, m in groups if c == column]
            n_test = {g: int(m.sum()) for g, m in mine}
            candidates = [g for g in real_share.index[::-1]
                          if not g.endswith(f"={MISSING}") and n_test.get(g, 0) >= M.MIN_SUBGROUP_ROWS]
            if not candidates:
                skipped.append({"column": column, "reason": f"no subgroup has {M.MIN_SUBGROUP_ROWS} holdout rows"})
                continue
            pick = candidates[0]
            syn_labels = subgroup_labeller(data, column)(data.synthetic)
            syn_rows = data.synthetic[(syn_labels == pick).to_numpy() & data.synthetic[task.target].notna().to_numpy()]
            syn_rows = data.subsample(syn_rows, M.MAX_TRAIN_ROWS, f"{self.name}:{column}")
            if syn_rows.empty:
                skipped.append({"column": column, "reason": f"the synthetic table has no row of {pick}"})
                continue
            augmented = self._augmented(data, fit, column, pick, syn_rows)
            for group, mask in mine:
                n = int(mask.sum())
                tag = f"{group} (augmented: +{len(syn_rows):,} synthetic rows)" if group == pick else group
                if n < M.MIN_SUBGROUP_ROWS:
                    table.append([tag, n, None, None, None])
                    continue
                before = float(_aug_score(task, fit.y[mask], fit.pred["real"][mask])[0])
                after = float(_aug_score(task, fit.y[mask], augmented[mask])[0])
                table.append([tag, n, _clean(before), _clean(after), _clean(after - before)])
                if group == pick:
                    experiments.append({"column": column, "subgroup": pick, "real_share": float(real_share[pick]),
                                        "synthetic_rows_added": len(syn_rows),
                                        "real_training_rows": len(fit.train["real"]), "n_test": n,
                                        "score_real_only": before, "score_real_plus_synthetic": after,
                                        "change": after - before, "_mask": mask, "_pred": augmented})
        if not experiments:
            raise NotComputed("no under-represented subgroup could be augmented: "
                              + "; ".join(f"{s['column']}: {s['reason']}" for s in skipped))
        worst = min(experiments, key=lambda e: e["change"])
        mask = worst["_mask"]
        weights = M.bootstrap_weights(data.rng(self.name), int(mask.sum()))
        boot = (_aug_score(task, fit.y[mask], worst["_pred"][mask], weights)
                - _aug_score(task, fit.y[mask], fit.pred["real"][mask], weights))
        details = {
            **task.describe(),
            "score": score,
            "augmented_subgroup": worst["subgroup"],
            "experiments": [{k: v for k, v in e.items() if not k.startswith("_")} for e in experiments],
            "skipped": skipped,
            "min_subgroup_rows": M.MIN_SUBGROUP_ROWS,
            "rows_used": fit.rows_used(),
            "plot": {"type": "table",
                     "title": f"{score} per subgroup on real holdout rows: real training rows only vs plus "
                              "synthetic rows of the under-represented subgroup",
                     "columns": ["subgroup", "n_test", f"{score} real only", f"{score} real + synthetic", "change"],
                     "rows": table},
        }
        return MetricResult(value=float(np.clip(worst["change"], -1.0, 1.0)), ci=M.percentile_ci(boot, -1.0, 1.0),
                            details=details)
