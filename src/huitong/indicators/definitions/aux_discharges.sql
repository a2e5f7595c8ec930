-- id: aux.discharges
-- name_zh: 出院人次数
-- name_en: Discharges
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 人次
-- factor: 1
-- source: 病案首页
-- numerator: discharges in the period (every disposition)
-- denominator: (none; count)
-- rule: denominator of indicators 1, 4 and 19; counted in the month and department of discharge
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, 1 AS numerator, NULL AS denominator,
       'discharge, disposition ' || coalesce(disposition, '?') AS rule
FROM discharge
