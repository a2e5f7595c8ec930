-- id: aux.outpatient_cost_per_visit
-- name_zh: 门诊患者次均医药费用
-- name_en: Average cost per outpatient visit
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 元
-- factor: 1
-- source: HIS outpatient register
-- numerator: 门诊收入
-- denominator: 门诊人次数 (outpatient and emergency)
-- rule: basis of indicator 38
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, total AS numerator, 1 AS denominator, 'visit cost ' || total AS rule
FROM visit
