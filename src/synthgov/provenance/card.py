"""``card.md``: the release's datasheet, for a person to read.

Sections follow the questions of "Datasheets for Datasets" (Gebru et al. 2021)
that apply to synthetic data: purpose, who made it and for whom, the source (its
description and fingerprint, never its content), method and parameters,
assumptions, what was changed, metrics with verdicts, known limits and biases,
intended and prohibited uses, contact.

>>> md_cell("a|b\\nc")
'a\\\\|b c'
>>> fmt_number(0.123456), fmt_number(None), fmt_number(3)
('0.1235', '—', '3')
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .package import ReleaseFacts

__all__ = ["render", "md_cell", "fmt_number"]


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, one line)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def fmt_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _bullets(items, empty: str) -> list[str]:
    items = list(items)
    return [f"- {item}" for item in items] if items else [f"- {empty}"]


def _share(facts: ReleaseFacts) -> str:
    if facts.mode == "full":
        return "Every row and every value is synthetic (synthetic share 1.0)."
    if facts.mode == "partial":
        cols = ", ".join(f"`{c}`" for c in facts.replaced_columns)
        return (f"Partial synthesis: only the column(s) {cols} were replaced with synthetic values; "
                f"every other column holds the source's real values (synthetic share of cells "
                f"{facts.synthetic_share:.4g}).")
    return (f"{facts.mode.capitalize()} table: {facts.synthetic_share:.2%} of the rows are synthetic; the rest are "
            f"real rows from the source. The boolean column `{facts.marker}` marks each row (True = synthetic).")


def _metric_rows(facts: ReleaseFacts) -> list[str]:
    if not facts.metrics:
        return ["No evaluation report was attached: quality, privacy and fairness were not measured for this release."]
    lines = [f"Overall verdict: **{facts.verdict}**. The full report is `report.html`.", "",
             "| metric | family | value | 95% CI | threshold | verdict |",
             "|---|---|---|---|---|---|"]
    for m in facts.metrics:
        ci = m.get("ci")
        ci_text = f"{fmt_number(ci[0])} – {fmt_number(ci[1])}" if ci else "—"
        value = fmt_number(m.get("value")) if m.get("value") is not None else f"not computed: {m.get('reason') or ''}"
        lines.append(f"| {md_cell(m['name'])} | {md_cell(m.get('family'))} | {md_cell(value)} | {ci_text} | "
                     f"{fmt_number(m.get('threshold'))} | {md_cell(m.get('verdict'))} |")
    lines += ["", "Definitions:", ""]
    lines += [f"- **{m['name']}** ({m.get('goal')}): {md_cell(m.get('definition') or '')} "
              f"_Source: {md_cell(m.get('source') or 'not given')}._" for m in facts.metrics]
    return lines


def render(facts: ReleaseFacts, *, data_sha256: str) -> str:
    """The card's Markdown text."""
    src, gen = facts.source, facts.generator
    creator = facts.creator["name"] + (f" <{facts.creator['email']}>" if facts.creator.get("email") else "")
    privacy = (f"Differential privacy: epsilon = {gen.epsilon:g}, delta = {gen.delta:g} ({gen.mechanism})."
               if gen.epsilon is not None else
               "No formal privacy guarantee: the generator is not differentially private.")
    params = json.dumps(gen.parameters, sort_keys=True, ensure_ascii=False)
    lines = [
        f"# {facts.name}",
        "",
        f"> **Synthetic data.** {_share(facts)} Release `{facts.release_id}`, made {facts.created}.",
        "",
        facts.description,
        "",
        "## Purpose",
        "",
        facts.purpose,
        "",
        "## Who made it, and for whom",
        "",
        f"- Made by: {creator}",
        f"- For: {facts.audience or 'not stated'}",
        f"- Licence: {facts.license}",
        "",
        "## Source",
        "",
        f"- Name: {src.name}",
        f"- Description: {src.description or 'not given'}",
        f"- Size: {fmt_number(src.rows)} rows × {fmt_number(src.columns)} columns",
        f"- Fingerprint: sha256 `{src.sha256}` ({src.digest_method})",
        f"- Schema fingerprint: sha256 `{src.schema_sha256 or 'not recorded'}`",
        "",
        "The source itself is not part of this release; only its fingerprint is."
        + (" The evaluation report (`report.html`) does show aggregate statistics of the source (such as "
           "its per-column distributions) next to the synthetic ones." if facts.metrics or facts.verdict is not None else ""),
        "",
        "## Method and parameters",
        "",
        f"- Generator: `{gen.name}` (version {gen.version}), run by synthgov {facts.synthgov_version}",
        f"- Parameters: `{params}`",
        f"- Seed: {fmt_number(gen.seed) if gen.seed is not None else 'none recorded (not reproducible)'}",
        f"- {privacy}",
        f"- Watermark: {'embedded (keyed; the key is not part of the release)' if facts.watermark else 'none'}",
        "",
        "## Lineage",
        "",
        facts.lineage.describe(),
        "",
        f"- Generation: {facts.lineage.generation} (synthetic-on-synthetic hops: {facts.lineage.hops})",
        f"- Share of synthetic rows in the training data: {facts.lineage.training_synthetic_share:.2%}",
        *([f"- Generation limit overridden: {md_cell(facts.lineage.override_reason)}"]
          if facts.lineage.override_reason else []),
        "",
        "## Assumptions",
        "",
        *_bullets(facts.assumptions, "none stated"),
        "",
        "## What was changed",
        "",
        _share(facts),
        "",
        f"The release holds {facts.rows} rows and {len(facts.columns)} columns in `data.parquet` "
        f"(sha256 `{data_sha256}`).",
        "",
        "## Metrics",
        "",
        *_metric_rows(facts),
        "",
        "## Known limits and biases",
        "",
        *_bullets(facts.limitations, "none recorded"),
        *_bullets(facts.biases, "no bias measurement recorded"),
        "",
        "## Personal and sensitive information",
        "",
        *_bullets(facts.pii, "nothing recorded"),
        "",
        "## Intended uses",
        "",
        *_bullets(facts.intended_uses, "none stated"),
        "",
        "## Prohibited uses",
        "",
        *_bullets(facts.prohibited_uses, "none stated"),
        "",
        "## Social impact",
        "",
        facts.social_impact,
        "",
        "## Maintenance",
        "",
        facts.maintenance,
        "",
        "## Contact",
        "",
        facts.contact or creator,
        "",
        "## Checking this release",
        "",
        f"`synthgov verify <this directory> --key <the publisher's public key>` checks the signature in "
        f"`release.dsse.json` (key id `{facts.key_id}`) and the sha256 of every file.",
        "",
    ]
    return "\n".join(lines)
