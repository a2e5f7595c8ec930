-- id: aux.outpatient_visits
-- name_zh: 门急诊人次数
-- name_en: Outpatient and emergency visits
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 人次
-- factor: 1
-- source: HIS outpatient register
-- numerator: visits, by consultation date and department
-- denominator: (none; count)
-- rule: numerator of indicator 1
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, 1 AS numerator, NULL AS denominator, 'visit (' || class || ')' AS rule
FROM visit
