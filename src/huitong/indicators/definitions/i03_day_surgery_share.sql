-- id: 3
-- name_zh: 日间手术占择期手术比例
-- name_en: Day surgery as share of elective surgery
-- dimension: 医疗质量 / 功能定位
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: 病案首页 (extension columns ZQSS 择期手术, RJSS 日间手术)
-- numerator: 日间手术台次数 (elective operations flagged as day surgery)
-- denominator: 同期出院患者择期手术总台次数 (elective operations and interventions of discharged patients)
-- rule: counted as operations (台次), not persons
-- configurable: none
-- unconfirmed: yes (direction: 监测比较 or 逐步提高)
SELECT procedure_id AS case_id, day, department,
       CASE WHEN day_surgery THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       CASE WHEN day_surgery THEN 'elective day surgery ' ELSE 'elective operation, not day surgery ' END || code AS rule
FROM operation WHERE is_operation AND elective
