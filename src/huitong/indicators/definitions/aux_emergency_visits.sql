-- id: aux.emergency_visits
-- name_zh: 急诊人次数
-- name_en: Emergency visits
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 人次
-- factor: 1
-- source: HIS outpatient register
-- numerator: emergency visits
-- denominator: (none; count)
-- rule: class EMER
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, 1 AS numerator, NULL AS denominator, 'emergency visit' AS rule
FROM visit WHERE class = 'EMER'
