"""Diversity and completeness: does the synthetic table cover the real one, without repeating itself?

Category coverage, range coverage, rare-category retention, the duplicate rate
within the synthetic table, and the similarity of row-wise missingness patterns.

A hand-worked example: the real column ``c`` has levels a, b, c and d, the
synthetic one only a and b, so half the real levels are covered; the real ``x``
spans 0 to 10 and the synthetic one 5 to 20, so half the real range is covered;
two of the four synthetic rows repeat an earlier one.

>>> import pandas as pd
>>> from synthgov.evaluate import EvalData, get_metric
>>> real = pd.DataFrame({"x": [0.0, 2.0, 4.0, 10.0], "c": ["a", "b", "c", "d"]})
>>> synthetic = pd.DataFrame({"x": [5.0, 5.0, 20.0, 5.0], "c": ["a", "a", "b", "a"]})
>>> data = EvalData.prepare(real, synthetic, holdout=real)
>>> get_metric("category_coverage").compute(data).value
0.5
>>> get_metric("range_coverage").compute(data).value
0.5
>>> get_metric("synthetic_duplicates").compute(data).value
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._column_stats import MIN_NAMED_ROWS
from ._stats import total_variation, wilson_interval
from .base import Metric, MetricResult, NotComputed

__all__ = [
    "RARE_SHARE",
    "CategoryCoverage",
    "RangeCoverage",
    "SyntheticDuplicates",
    "RareCategoryRetention",
    "MissingPatternSimilarity",
]

#: A real level is "rare" when it holds less than this share of the column's present real values.
RARE_SHARE = 0.05
#: Levels or patterns listed by name in details, per column.
LISTED = 10


def _r(value: float) -> float:
    return round(float(value), 6)


def _level_counts(data, column: str) -> tuple[pd.Series, set]:
    """Real level counts (most frequent first) and the set of levels present in the synthetic table."""
    def build():
        counts = data.real[column].value_counts(dropna=True)
        synthetic = set(pd.unique(data.synthetic[column].dropna().to_numpy(dtype=object)))
        return counts, synthetic

    return data.memo(f"diversity:levels:{column}", build)


def _lost(counts: pd.Series, kept: list[bool]) -> dict[str, Any]:
    """The real levels the synthetic table lacks: named (most frequent first, at most :data:`LISTED`) only when at
    least :data:`MIN_NAMED_ROWS` real rows hold them, since a rarer level is close to one person's value."""
    lost = counts[~np.asarray(kept, dtype=bool)]
    named = [str(level) for level in lost.index[lost.to_numpy() >= MIN_NAMED_ROWS]]
    return {"lost_levels": named[:LISTED], "lost_total": len(lost), "lost_unnamed": len(lost) - len(named)}


class CategoryCoverage(Metric):
    name = "category_coverage"
    family = "diversity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each categorical and boolean column, the share of the levels seen in the real table that appear "
        "at least once in the synthetic table; the value is the mean over columns. 1 means no real category is "
        "lost. Details name the missing levels held by at least "
        f"{MIN_NAMED_ROWS} real rows, most frequent first, and count the rarer ones without naming them (a level "
        "held by a few rows is close to one person's value). A table with many one-off levels (names, "
        "free-text codes) can score low for a good reason: reproducing one-off values can reveal real records."
    )
    source = "SDMetrics CategoryCoverage"

    def compute(self, data) -> MetricResult:
        if not data.categorical:
            raise NotComputed("no categorical or boolean column to compare")
        columns: dict[str, Any] = {}
        for name in data.categorical:
            counts, synthetic = _level_counts(data, name)
            covered = [level in synthetic for level in counts.index]
            columns[name] = {"score": _r(np.mean(covered)), "real_levels": len(counts), "covered": int(sum(covered)),
                             **_lost(counts, covered)}
        value = float(np.mean([c["score"] for c in columns.values()]))
        return MetricResult(value=value, details={
            "columns": columns, "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic)},
            "method": "exact",
            "plot": {"type": "bars", "title": "Share of real levels present in the synthetic table",
                     "groups": list(columns), "series": {"coverage": [c["score"] for c in columns.values()]},
                     "ylabel": "share of real levels"},
        })


class RangeCoverage(Metric):
    name = "range_coverage"
    family = "diversity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each numeric and datetime column, the share of the real range [min, max] that the synthetic range "
        "overlaps: (min(max_s, max_r) - max(min_s, min_r)) / (max_r - min_r), clipped to [0, 1] (a constant "
        "real column scores 1 if the synthetic range contains its value). The value is the mean over columns. "
        "1 means the synthetic values reach both real extremes. It looks only at the extremes, not at how the "
        "values in between are spread (see ks_complement), and reaching real extremes exactly can expose outliers. "
        "Details give the synthetic range and which real end it falls short of, never the real minimum or maximum "
        "(each is one real record's value)."
    )
    source = "SDMetrics RangeCoverage"

    def compute(self, data) -> MetricResult:
        if not data.numeric:
            raise NotComputed("no numeric or datetime column to compare")
        real_min, real_max = data.real[data.numeric].min(), data.real[data.numeric].max()
        syn_min, syn_max = data.synthetic[data.numeric].min(), data.synthetic[data.numeric].max()
        columns: dict[str, Any] = {}
        for name in data.numeric:
            lo, hi, s_lo, s_hi = (float(v[name]) for v in (real_min, real_max, syn_min, syn_max))
            if not np.isfinite(s_lo):
                score, note = 0.0, "every synthetic value is missing"
            elif hi > lo:
                score, note = min(max((min(s_hi, hi) - max(s_lo, lo)) / (hi - lo), 0.0), 1.0), None
            else:
                score, note = float(s_lo <= lo <= s_hi), "constant real column"
            short = [] if not np.isfinite(s_lo) else \
                [end for end, ok in (("minimum", s_lo <= lo), ("maximum", s_hi >= hi)) if not ok]
            columns[name] = {"score": _r(score), "synthetic": [s_lo, s_hi] if np.isfinite(s_lo) else None,
                             "short_of_real": short, **({"note": note} if note else {})}
        value = float(np.mean([c["score"] for c in columns.values()]))
        return MetricResult(value=value, details={
            "columns": columns, "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic)},
            "method": "exact", "note": "short_of_real: the real extremes the synthetic values do not reach (the real "
                                       "minimum and maximum are not shown: each is one real record's value)"})


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _repeat_share(frame: pd.DataFrame) -> tuple[int, int]:
    """(rows repeating an earlier row, distinct rows), comparing 64-bit row hashes."""
    hashes = _row_hashes(frame)
    distinct = len(pd.unique(hashes))
    return len(hashes) - distinct, distinct


class SyntheticDuplicates(Metric):
    name = "synthetic_duplicates"
    family = "diversity"
    goal = "minimize"
    range = (0.0, 1.0)
    # No default threshold: the rate to expect depends on the real table (few coarse columns repeat rows
    # naturally); details give the real table's own rate to compare with.
    definition = (
        "The share of synthetic rows that repeat an earlier synthetic row exactly, over the compared columns: "
        "1 - distinct rows / rows. 0 means every synthetic row is distinct; a rate far above the real table's "
        "own rate (in details) means the generator repeats itself (mode collapse). Rows are compared by a "
        "64-bit hash, so a false match is possible but has a chance of about 5e-20 per pair of rows. Copies of real rows "
        "are a privacy question, measured in the privacy family."
    )
    source = "duplicate rate as in mostly.ai QA and SDMetrics; Wilson 1927 for the interval"

    def compute(self, data) -> MetricResult:
        repeats, distinct = _repeat_share(data.synthetic)
        real_repeats, real_distinct = _repeat_share(data.real)
        n = len(data.synthetic)
        return MetricResult(value=repeats / n, ci=wilson_interval(repeats, n), details={
            "synthetic": {"rows": n, "distinct": distinct, "repeats": repeats},
            "real": {"rows": len(data.real), "distinct": real_distinct, "repeats": real_repeats,
                     "rate": _r(real_repeats / len(data.real))},
            "rows_used": {"real": len(data.real), "synthetic": n}, "method": "exact",
        })


class RareCategoryRetention(Metric):
    name = "rare_category_retention"
    family = "diversity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "For each categorical column, take the real levels that hold less than 5% of its present real values "
        "(the rare ones) and count the share that appear at least once in the synthetic table; the value is "
        "the mean over the columns that have rare levels. 1 means no rare category is lost, so small groups "
        "stay visible in the synthetic data. Details name the lost levels held by at least "
        f"{MIN_NAMED_ROWS} real rows and count the rest. Caveat: keeping levels seen once or twice can reveal the "
        "real records behind them; read it with the privacy metrics."
    )
    source = "rare-category coverage as in mostly.ai QA; threshold 5% (this project's choice)"

    def compute(self, data) -> MetricResult:
        columns: dict[str, Any] = {}
        rare_total = kept_total = 0
        for name in data.categorical:
            counts, synthetic = _level_counts(data, name)
            rare = counts[counts < RARE_SHARE * counts.sum()]
            if rare.empty:
                continue
            kept = [level in synthetic for level in rare.index]
            rare_total += len(rare)
            kept_total += int(sum(kept))
            columns[name] = {"score": _r(np.mean(kept)), "rare_levels": len(rare), "retained": int(sum(kept)),
                             **_lost(rare, kept)}
        if not columns:
            raise NotComputed(f"no categorical column has a level holding less than {RARE_SHARE:.0%} of its values")
        value = float(np.mean([c["score"] for c in columns.values()]))
        return MetricResult(value=value, details={
            "rare_share": RARE_SHARE, "columns": columns,
            "pooled": {"rare_levels": rare_total, "retained": kept_total, "share": _r(kept_total / rare_total)},
            "rows_used": {"real": len(data.real), "synthetic": len(data.synthetic)}, "method": "exact",
        })


def _pattern_codes(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A code per row for its missingness pattern, and the first row with each pattern.

    Up to 64 columns the pattern's bits are the key itself; past that the 64-bit words of bits are hashed
    together (a false match between two patterns has a chance of about 5e-20).
    """
    packed = np.packbits(masks, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    words = np.zeros((len(masks), width), dtype=np.uint8)
    words[:, :packed.shape[1]] = packed
    words = words.view(np.uint64)
    keys = words[:, 0] if words.shape[1] == 1 else pd.util.hash_pandas_object(pd.DataFrame(words), index=False)
    codes, uniques = pd.factorize(np.asarray(keys))
    first = np.full(len(uniques), len(masks), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(masks)))
    return codes, first


class MissingPatternSimilarity(Metric):
    name = "missing_pattern_similarity"
    family = "diversity"
    goal = "maximize"
    range = (0.0, 1.0)
    definition = (
        "Each row has a missingness pattern: the set of its columns that are missing. The value is one minus "
        "the total variation distance between the real and the synthetic distributions of patterns. 1 means "
        "values go missing together exactly as in the real data (e.g. all joint-applicant fields at once); "
        "tables without missing values score 1. Details list the most common real patterns and their shares."
    )
    source = "missingness-pattern comparison (this project's formulation; total variation distance)"

    def compute(self, data) -> MetricResult:
        columns = list(data.columns)
        masks = np.vstack([frame.isna().to_numpy() for frame in (data.real, data.synthetic)])
        codes, first = _pattern_codes(masks)
        n_real = len(data.real)
        real = np.bincount(codes[:n_real], minlength=len(first)) / n_real
        synthetic = np.bincount(codes[n_real:], minlength=len(first)) / len(data.synthetic)
        tvd = float(total_variation(real, synthetic))
        patterns = []
        for k in np.argsort(-real, kind="stable")[:LISTED]:
            missing = [columns[i] for i in np.flatnonzero(masks[first[k]])]
            patterns.append({"missing": missing[:LISTED], "missing_total": len(missing),
                             "real": _r(real[k]), "synthetic": _r(synthetic[k])})
        return MetricResult(value=1.0 - tvd, details={
            "tvd": _r(tvd), "patterns_real": int((real > 0).sum()), "patterns_synthetic": int((synthetic > 0).sum()),
            "patterns_only_synthetic": int(((synthetic > 0) & (real == 0)).sum()), "top_real_patterns": patterns,
            "rows_used": {"real": n_real, "synthetic": len(data.synthetic)}, "method": "exact",
        })
