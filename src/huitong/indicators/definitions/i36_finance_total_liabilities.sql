-- id: 36
-- name_zh: 资产负债率
-- name_en: Asset-liability ratio
-- dimension: 运营效率 / 收支结构
-- national_monitoring: yes
-- direction: monitor
-- unit: %
-- factor: 100
-- source: 财务年报表, imported as finance.csv (year,item,value) with huitong indicators import-master
-- numerator: 负债合计 (total_liabilities)
-- denominator: 资产合计 (total_assets)
-- rule: figures of the audited annual financial report as entered; hospital level, year only
-- configurable: none
-- unconfirmed: no
-- periods: year
-- scope: hospital
SELECT 'finance ' || year || ' ' || item AS case_id, make_date(CAST(year AS INTEGER), 1, 1) AS day, NULL AS department,
       CASE WHEN item = 'total_liabilities' THEN CAST(value AS DOUBLE) ELSE 0 END AS numerator,
       CASE WHEN item = 'total_assets' THEN CAST(value AS DOUBLE) ELSE 0 END AS denominator,
       item || ' = ' || value AS rule
FROM ref_finance WHERE item IN ('total_liabilities', 'total_assets')
