"""National tertiary public hospital performance indicators (国考): front-page and HIS imports mapped to FHIR,
SQL-on-FHIR views in DuckDB, one SQL definition file per indicator, stored values with drill-down, and the
leadership cockpit's data. See docs/indicators.md."""
