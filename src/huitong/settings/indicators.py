"""National performance indicators and the cockpit (``HUITONG_INDICATORS__…``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IndicatorSettings(BaseModel):
    """National performance indicators (国考) and the leadership cockpit."""

    duckdb_path: str = Field(
        default="var/indicators.duckdb",
        description="DuckDB file holding the flattened views and the computation tables of the indicators.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Overrides of the definitions' configurable parameters, `NAME` or `ID.NAME` → value "
            "(e.g. `6.level_source` = `catalogue`); see docs/indicators.md."
        ),
    )
    targets: dict[str, float] = Field(
        default_factory=dict,
        description="Targets shown in the cockpit, indicator id → value (e.g. `6` = `25` for 25 % level-4 surgery).",
    )
    cjk_font: str = Field(
        default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        description="TrueType/OpenType font (or collection) with Chinese glyphs for the cockpit's PDF export.",
    )
