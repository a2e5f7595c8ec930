-- id: 34
-- name_zh: 万元收入能耗支出
-- name_en: Energy expenditure per 10,000 yuan of income
-- dimension: 运营效率 / 收支结构
-- national_monitoring: yes
-- direction: lower
-- unit: 元
-- factor: 10000
-- source: 财务年报表, imported as finance.csv (year,item,value)
-- numerator: 年总能耗支出 (energy_expenditure) × 10000
-- denominator: 年总收入 (total_income)
-- rule: figures of the annual financial report as entered; hospital level, year only
-- configurable: none
-- unconfirmed: yes (later lists use 万元收入能耗占比)
-- periods: year
-- scope: hospital
SELECT 'finance ' || year || ' ' || item AS case_id, make_date(CAST(year AS INTEGER), 1, 1) AS day, NULL AS department,
       CASE WHEN item = 'energy_expenditure' THEN CAST(value AS DOUBLE) ELSE 0 END AS numerator,
       CASE WHEN item = 'total_income' THEN CAST(value AS DOUBLE) ELSE 0 END AS denominator,
       item || ' = ' || value AS rule
FROM ref_finance WHERE item IN ('energy_expenditure', 'total_income')
