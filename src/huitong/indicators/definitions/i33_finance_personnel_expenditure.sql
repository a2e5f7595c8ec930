-- id: 33
-- name_zh: 人员支出占业务支出比重
-- name_en: Personnel expenditure as share of operating expenditure
-- dimension: 运营效率 / 收支结构
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: 财务年报表, imported as finance.csv (year,item,value) with huitong indicators import-master
-- numerator: 人员支出 (finance item personnel_expenditure)
-- denominator: 业务支出 (business_expenditure)
-- rule: figures of the audited annual financial report as entered; hospital level, year only
-- configurable: none
-- unconfirmed: yes (later lists use 人员经费占比)
-- periods: year
-- scope: hospital
SELECT 'finance ' || year || ' ' || item AS case_id, make_date(CAST(year AS INTEGER), 1, 1) AS day, NULL AS department,
       CASE WHEN item = 'personnel_expenditure' THEN CAST(value AS DOUBLE) ELSE 0 END AS numerator,
       CASE WHEN item = 'business_expenditure' THEN CAST(value AS DOUBLE) ELSE 0 END AS denominator,
       item || ' = ' || value AS rule
FROM ref_finance WHERE item IN ('personnel_expenditure', 'business_expenditure')
