-- id: aux.mortality
-- name_zh: 住院患者死亡率
-- name_en: In-hospital mortality
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: lower
-- unit: %
-- factor: 100
-- source: 病案首页 (离院方式 LYFS = 5 死亡)
-- numerator: discharges who died (离院方式 5)
-- denominator: all discharges
-- rule: common companion measure
-- configurable: none
-- unconfirmed: no
SELECT encounter_id AS case_id, day, department, CASE WHEN disposition = '5' THEN 1 ELSE 0 END AS numerator,
       1 AS denominator, CASE WHEN disposition = '5' THEN 'died' ELSE 'discharged alive' END AS rule
FROM discharge
