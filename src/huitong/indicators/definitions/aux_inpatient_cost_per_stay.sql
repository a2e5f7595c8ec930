-- id: aux.inpatient_cost_per_stay
-- name_zh: 出院患者次均医药费用
-- name_en: Average cost per discharge
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 元
-- factor: 1
-- source: 病案首页 (总费用 ZFY)
-- numerator: 出院患者住院费用
-- denominator: 出院人次数
-- rule: basis of indicator 40
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, total AS numerator, 1 AS denominator, 'stay cost ' || total AS rule
FROM discharge
