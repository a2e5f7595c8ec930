-- id: 30
-- name_zh: 住院收入中来自医保基金的比例
-- name_en: Share of inpatient income paid by insurance funds
-- dimension: 运营效率 / 收支结构
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: 病案首页 (总费用 ZFY − 自付金额 ZFJE)
-- numerator: 住院收入中来自医保基金的收入 (ZFY − ZFJE)
-- denominator: 住院收入 (ZFY)
-- rule: payer split as recorded on the front page
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, coalesce(fund_paid, 0) AS numerator, total AS denominator,
       'fund paid ' || coalesce(fund_paid, 0) || ' of ' || total AS rule
FROM discharge
