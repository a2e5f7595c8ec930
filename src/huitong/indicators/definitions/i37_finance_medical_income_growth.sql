-- id: 37
-- name_zh: 医疗收入增幅
-- name_en: Growth of medical income
-- dimension: 运营效率 / 费用控制
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: 财务年报表, imported as finance.csv (year,item,value), two consecutive years
-- numerator: 本年度医疗收入 − 上一年度医疗收入 (medical_income)
-- denominator: 上一年度医疗收入
-- rule: each year's medical income counts positively in its year and, as the base, in the following year
-- configurable: none
-- unconfirmed: no
-- periods: year
-- scope: hospital
SELECT 'finance ' || year || ' medical_income' AS case_id, make_date(CAST(year AS INTEGER), 1, 1) AS day,
       NULL AS department, CAST(value AS DOUBLE) AS numerator, 0 AS denominator, 'medical income ' || year || ' = ' || value AS rule
FROM ref_finance WHERE item = 'medical_income'
UNION ALL
SELECT 'finance ' || year || ' medical_income (base)', make_date(CAST(year AS INTEGER) + 1, 1, 1), NULL,
       -CAST(value AS DOUBLE), CAST(value AS DOUBLE), 'previous year medical income ' || year || ' = ' || value
FROM ref_finance WHERE item = 'medical_income'
