"""Utility metrics: does a model trained on the synthetic rows predict the real world as well?

Both metrics use the two gradient-boosting models of
:mod:`synthgov.evaluate._models`, fitted once per evaluation: one trained on
the real training rows (TRTR), one on the synthetic rows (TSTR), both tested on
the real holdout rows.

>>> import numpy as np, pandas as pd
>>> from synthgov.evaluate import EvalData
>>> x = np.random.default_rng(0).normal(size=400)
>>> real = pd.DataFrame({"x": x, "y": np.where(x > 0, "high", "low")})
>>> data = EvalData.prepare(real[:300], real[:300], holdout=real[300:], target="y")
>>> UtilityRatio().compute(data).value  # synthetic rows = a copy of the training rows
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from . import _models as M
from .base import Metric, MetricResult, NotComputed

__all__ = ["UtilityRatio", "FeatureImportanceAgreement"]

#: Holdout rows the permutation importances are measured on, at most.
IMPORTANCE_ROWS = 300
#: Features drawn in the importance bar chart.
PLOT_FEATURES = 15

_SCORE_LABELS = {"roc_auc": "ROC AUC", "accuracy": "accuracy", "f1_macro": "F1 (macro)", "r2": "R²", "mae": "MAE"}
_LOWER_IS_BETTER = {"mae"}


def _clean(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


class UtilityRatio(Metric):
    name = "utility_ratio"
    family = "utility"
    goal = "maximize"
    range = (0.0, 1.0)
    threshold = 0.9
    needs = frozenset({"target"})
    summary = True
    definition = (
        "Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR): a gradient-boosting "
        "model is trained on the synthetic rows and another on the real training rows, and both predict the "
        "target for real holdout rows that neither the generator nor the models saw. The value is the TSTR "
        "score over the TRTR score, capped at 1: ROC AUC (macro one-vs-rest) for a categorical target, R² for a "
        "numeric one (a negative R², worse than predicting the mean, counts as 0). A categorical target keeps its "
        f"{M.MAX_CLASSES} most frequent real levels apart and pools every other value (rarer levels, levels the real "
        "training rows lack) as one class, so a many-level target stays tractable. 1 means the synthetic data "
        "trains a model as good as the real data does; lower means lost utility. Caveats: a model that learned "
        "nothing still has an AUC of 0.5, so useless synthetic data scores about 0.5 / TRTR AUC rather than 0 "
        "(the details give the share of above-chance signal kept, and accuracy, F1 or MAE for both models); "
        "the interval is a bootstrap over holdout rows with both models fixed, so it leaves out training "
        "randomness; and it speaks for this one target and model family only."
    )
    source = ("Esteban, Hyland & Rätsch 2017, Real-valued (Medical) Time Series Generation with Recurrent "
              "Conditional GANs (TSTR); Jordon et al. 2022, Synthetic Data: what, why and how?")

    def compute(self, data) -> MetricResult:
        fit = M.fitted(data)
        task = fit.task
        real, synthetic = fit.pred["real"], fit.pred["synthetic"]
        base = float(M.primary(task, fit.y, real)[0])
        other = float(M.primary(task, fit.y, synthetic)[0])
        label = _SCORE_LABELS[task.primary]
        if not np.isfinite(base):
            raise NotComputed(f"the holdout rows hold a single class of target '{task.target}', so {label} "
                              "is undefined" if task.classification else
                              f"target '{task.target}' does not vary in the holdout rows, so {label} is undefined")
        if base <= task.chance:
            raise NotComputed(f"the model trained on the real rows does no better than chance at predicting "
                              f"'{task.target}' ({label} {base:.3f} on the holdout), so a ratio would mean nothing")
        ratio = other / base
        weights = M.bootstrap_weights(data.rng(self.name), len(fit.y))
        boot_real = M.primary(task, fit.y, real, weights)
        boot_syn = M.primary(task, fit.y, synthetic, weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = np.where(boot_real > 0, boot_syn / boot_real, np.nan)
        scores = {"train on real": M.point_scores(task, fit.y, real),
                  "train on synthetic": M.point_scores(task, fit.y, synthetic)}
        gap = {}
        for key, value in scores["train on real"].items():
            other_value = scores["train on synthetic"][key]
            if value is not None and other_value is not None:
                gap[key] = (other_value - value) if key in _LOWER_IS_BETTER else (value - other_value)
        shown = [k for k in scores["train on real"] if k not in _LOWER_IS_BETTER]
        details = {
            **task.describe(),
            "primary_score": label,
            "trtr": base,
            "tstr": other,
            "ratio_uncapped": ratio,
            "signal_kept": (other - task.chance) / (base - task.chance),
            "scores": scores,
            "gap_real_minus_synthetic": gap,
            "rows_used": fit.rows_used(),
            "ci_method": f"bootstrap over holdout rows ({M.BOOTSTRAP_ROUNDS} resamples), models fixed",
            "plot": {"type": "bars", "title": f"Predicting '{task.target}' on real holdout rows",
                     "groups": [_SCORE_LABELS[k] for k in shown],
                     "series": {"train on real": [scores["train on real"][k] for k in shown],
                                "train on synthetic": [scores["train on synthetic"][k] for k in shown]},
                     "ylabel": "score on the holdout (higher is better)"},
        }
        return MetricResult(value=float(np.clip(ratio, 0.0, 1.0)), ci=M.percentile_ci(np.clip(boot, 0, 1), 0, 1),
                            details={k: _clean(v) for k, v in details.items()})


def _stacked_permutations(X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``X`` repeated once per feature, the k-th copy with feature k's values shuffled (one shuffle each)."""
    m, columns = len(X), list(X.columns)
    perms = np.argsort(rng.random((len(columns), m)), axis=1)
    out = {}
    for k, name in enumerate(columns):
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = np.tile(col.cat.codes.to_numpy(), len(columns))
            codes[k * m:(k + 1) * m] = codes[k * m:(k + 1) * m][perms[k]]
            out[name] = pd.Categorical.from_codes(codes, dtype=col.dtype)
        else:
            values = np.tile(col.to_numpy(dtype=float), len(columns))
            values[k * m:(k + 1) * m] = values[k * m:(k + 1) * m][perms[k]]
            out[name] = values
    return pd.DataFrame(out)


def _loss(task, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-row loss: negative log-likelihood of the true class, or squared error."""
    if task.classification:
        return -np.log(np.clip(pred[np.arange(len(y)), y], 1e-6, 1.0))
    return (y - pred) ** 2


class FeatureImportanceAgreement(Metric):
    name = "feature_importance_agreement"
    family = "utility"
    goal = "maximize"
    range = (-1.0, 1.0)
    needs = frozenset({"target"})
    definition = (
        "Whether the model trained on synthetic rows relies on the same features as the model trained on real "
        "rows. Each feature's permutation importance is measured for both models on the same real holdout rows "
        "(how much the loss grows when that feature's values are shuffled: log loss for a categorical target, "
        "squared error for a numeric one; one shuffle per feature on up to 300 rows), and the value is the "
        "Spearman rank correlation of the two importance lists. 1: the same features matter, in the same order; "
        "near 0 or negative: the synthetic-trained model learned different relations. Caveat: features that "
        "matter to neither model are ranked by noise, so a table with many irrelevant columns scores lower even "
        "when the important features agree; the details list each model's top features."
    )
    source = ("Breiman 2001, Random Forests (permutation importance); Spearman rank correlation of the TRTR "
              "and TSTR importances")

    def compute(self, data) -> MetricResult:
        fit = M.fitted(data)
        task = fit.task
        if len(task.features) < 2:
            raise NotComputed("needs at least two feature columns to rank")
        rng = data.rng(self.name)
        m = min(IMPORTANCE_ROWS, len(fit.y))
        rows = np.sort(rng.choice(len(fit.y), size=m, replace=False))
        X = fit.X_test.iloc[rows].reset_index(drop=True)
        y = fit.y[rows]
        stacked = _stacked_permutations(X, rng)
        y_tiled = np.tile(y, len(task.features))
        importance = {}
        for key, model in fit.models.items():
            base = _loss(task, y, fit.pred[key][rows]).mean()
            shuffled = _loss(task, y_tiled, M.predict(task, model, stacked)).reshape(len(task.features), m).mean(1)
            importance[key] = shuffled - base
        real, synthetic = importance["real"], importance["synthetic"]
        if np.ptp(real) == 0 or np.ptp(synthetic) == 0:
            which = "real" if np.ptp(real) == 0 else "synthetic"
            raise NotComputed(f"every feature is equally important to the model trained on {which} rows "
                              "(it ignores them all), so there is no ranking to compare")
        rho = float(spearmanr(real, synthetic).statistic)
        rank_real = (-real).argsort().argsort() + 1
        rank_syn = (-synthetic).argsort().argsort() + 1
        order = np.argsort(-real, kind="stable")
        features = list(task.features)
        top = min(5, len(features))
        top_real = [features[i] for i in order[:top]]
        top_syn = [features[i] for i in np.argsort(-synthetic, kind="stable")[:top]]
        shown = order[:PLOT_FEATURES]
        loss = "log loss" if task.classification else "squared error"
        details = {
            **task.describe(),
            "importance": f"increase in mean {loss} on the holdout when the feature is shuffled",
            "rows_used": m,
            "repeats": 1,
            "top_features_real": top_real,
            "top_features_synthetic": top_syn,
            f"top_{top}_overlap": len(set(top_real) & set(top_syn)),
            "features": [{"feature": features[i], "importance_real": float(real[i]),
                          "importance_synthetic": float(synthetic[i]), "rank_real": int(rank_real[i]),
                          "rank_synthetic": int(rank_syn[i])} for i in order],
            "plot": {"type": "bars", "title": "Permutation importance on real holdout rows (top features)",
                     "groups": [features[i] for i in shown],
                     "series": {"train on real": [float(real[i]) for i in shown],
                                "train on synthetic": [float(synthetic[i]) for i in shown]},
                     "ylabel": f"increase in {loss} when shuffled"},
        }
        return MetricResult(value=float(np.clip(rho, -1.0, 1.0)), details=details)
