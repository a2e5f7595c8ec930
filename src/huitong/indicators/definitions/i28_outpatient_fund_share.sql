-- id: 28
-- name_zh: 门诊收入中来自医保基金的比例
-- name_en: Share of outpatient income paid by insurance funds
-- dimension: 运营效率 / 收支结构
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: HIS outpatient register (settlement split by payer)
-- numerator: 门诊收入中来自医保基金的收入 (fund-paid part of each visit's settlement)
-- denominator: 门诊收入
-- rule: settlement data of each visit
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, coalesce(fund_paid, 0) AS numerator, total AS denominator,
       'fund paid ' || coalesce(fund_paid, 0) || ' of ' || total AS rule
FROM visit
