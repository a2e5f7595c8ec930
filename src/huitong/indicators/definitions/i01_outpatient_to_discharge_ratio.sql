-- id: 1
-- name_zh: 门诊人次数与出院人次数比
-- name_en: Ratio of outpatient visits to discharges
-- dimension: 医疗质量 / 功能定位
-- national_monitoring: no
-- direction: monitor
-- unit: 比值
-- factor: 1
-- source: HIS outpatient register (门急诊人次) + 病案首页 (出院人次)
-- numerator: 门诊患者人次数 (outpatient and emergency visits, by consultation date)
-- denominator: 同期出院患者人次数
-- rule: every registered visit counts once; emergency visits included
-- configurable: $include_emergency (default true)
-- unconfirmed: yes (exclusions of emergency and health-check visits)
-- param include_emergency: true
SELECT encounter_id AS case_id, day, department, 1 AS numerator, 0 AS denominator,
       'visit (' || class || ')' AS rule
FROM visit WHERE class = 'AMB' OR CAST($include_emergency AS BOOLEAN)
UNION ALL
SELECT encounter_id, day, department, 0, 1, 'discharge' FROM discharge
