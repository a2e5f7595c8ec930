"""The rule catalogue, docs/quality-rules.md, generated from the registry (a test keeps it current)."""

from __future__ import annotations

from huitong.quality.registry import all_rules
from huitong.quality.rule import DIMENSION_ZH, RowRule, Rule, SetRule


def render() -> str:
    """The Markdown catalogue."""
    lines = [
        "# Data-quality rules",
        "",
        "Generated from `src/huitong/quality/rules/` by `huitong quality catalogue` — do not edit by hand.",
        "",
        "Severity `error` quarantines a message at ingest; `warning` flags it. Set rules look across resources and",
        "run in batch (`huitong quality run`) only. Row rules check the rows of a tabular submission — the inpatient",
        "front page (病案首页) CSV — before it is imported or uploaded (`huitong quality frontpage FILE`).",
        "",
        "Reads: the resource types a rule reads and, in brackets, the elements of them it reads (what a batch run",
        "decodes for it).",
        "",
        "| Id | Dimension | Severity | Kind | Reads | Rule |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in all_rules():
        kind = "set" if isinstance(r, SetRule) else "row" if isinstance(r, RowRule) else "resource"
        lines.append(
            f"| `{r.id}` | {r.dimension.value} {DIMENSION_ZH[r.dimension]} | {r.severity.value} | {kind} | "
            f"{_reads(r)} | **{r.title}.** {r.description} |"
        )
    return "\n".join(lines) + "\n"


def _reads(rule: Rule) -> str:
    types = ", ".join(rule.reads)
    fields = getattr(rule, "fields", None)
    return f"{types} ({', '.join(fields)})" if fields else types
