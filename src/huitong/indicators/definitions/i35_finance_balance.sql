-- id: 35
-- name_zh: 收支结余
-- name_en: Income-expenditure balance
-- dimension: 运营效率 / 收支结构
-- national_monitoring: yes
-- direction: monitor
-- unit: 元
-- factor: 1
-- source: 财务年报表, imported as finance.csv (year,item,value)
-- numerator: 业务收入 (business_income) − 业务支出 (business_expenditure)
-- denominator: (none; amount)
-- rule: figures of the annual financial report as entered; hospital level, year only
-- configurable: none
-- unconfirmed: yes (later lists use 医疗盈余率)
-- periods: year
-- scope: hospital
SELECT 'finance ' || year || ' ' || item AS case_id, make_date(CAST(year AS INTEGER), 1, 1) AS day, NULL AS department,
       CASE WHEN item = 'business_income' THEN 1 ELSE -1 END * CAST(value AS DOUBLE) AS numerator,
       NULL AS denominator, item || ' = ' || value AS rule
FROM ref_finance WHERE item IN ('business_income', 'business_expenditure')
