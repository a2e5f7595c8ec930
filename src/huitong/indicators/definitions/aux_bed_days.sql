-- id: aux.bed_days
-- name_zh: 出院者占用总床日数
-- name_en: Bed-days of discharged patients
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 床日
-- factor: 1
-- source: 病案首页 (实际住院天数 SJZYTS)
-- numerator: Σ length of stay of the discharges (calendar days between admission and discharge, at least 1)
-- denominator: (none; count)
-- rule: building block of indicators 17 and 25
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, los_days AS numerator, NULL AS denominator,
       los_days || ' bed-days' AS rule
FROM discharge
