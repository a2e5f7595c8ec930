-- id: aux.alos
-- name_zh: 平均住院日
-- name_en: Average length of stay
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: lower
-- unit: 天
-- factor: 1
-- source: 病案首页
-- numerator: 出院者占用总床日数
-- denominator: 出院人数
-- rule: secondary-hospital list indicator 13; a companion of the tertiary list
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, los_days AS numerator, 1 AS denominator,
       los_days || ' bed-days' AS rule
FROM discharge
