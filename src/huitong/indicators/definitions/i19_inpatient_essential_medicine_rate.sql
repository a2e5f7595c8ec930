-- id: 19
-- name_zh: 住院患者基本药物使用率
-- name_en: Share of inpatients using essential medicines
-- dimension: 医疗质量 / 合理用药
-- national_monitoring: no
-- direction: higher
-- unit: %
-- factor: 100
-- source: nursing administrations (HL7 RAS^O17) + drug dictionary (essential-medicine flag) + 病案首页
-- numerator: 出院患者使用基本药物总人次数: discharges with at least one administration of an essential medicine
-- denominator: 同期出院总人次数
-- rule: an administration belongs to its stay through the visit number (PV1-19); counted in the month and department of discharge
-- configurable: $denominator: 'all' (every discharge) or 'with_drugs' (discharges with any administration, as one implementation does); the essential-medicine flag (ref_drug.essential)
-- unconfirmed: yes (exclusion of discharges without drug use)
-- param denominator: all
SELECT d.encounter_id AS case_id, d.day, d.department, CASE WHEN a.essential > 0 THEN 1 ELSE 0 END AS numerator,
       1 AS denominator,
       CASE WHEN a.essential > 0 THEN 'essential medicines: ' || a.essential_drugs
            WHEN a.n > 0 THEN 'drugs given, none essential'
            ELSE 'no administration recorded' END AS rule
FROM discharge d
LEFT JOIN (SELECT discharge_id, count(*) AS n, count(*) FILTER (WHERE essential) AS essential,
                  string_agg(DISTINCT drug_code, ', ' ORDER BY drug_code) FILTER (WHERE essential) AS essential_drugs
           FROM med_administration WHERE discharge_id IS NOT NULL GROUP BY discharge_id) a
  ON a.discharge_id = d.encounter_id
WHERE CAST($denominator AS VARCHAR) = 'all' OR a.n > 0
