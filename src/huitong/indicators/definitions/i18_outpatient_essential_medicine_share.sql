-- id: 18
-- name_zh: 门诊患者基本药物处方占比
-- name_en: Share of outpatient visits with essential-medicine prescriptions
-- dimension: 医疗质量 / 合理用药
-- national_monitoring: no
-- direction: higher
-- unit: %
-- factor: 100
-- source: outpatient prescriptions (HL7 RDE^O11) + drug dictionary (essential-medicine flag) + HIS outpatient register
-- numerator: 门诊使用基本药物人次数: visits with at least one prescribed product on the national essential-medicine list
-- denominator: 同期门诊诊疗总人次数 (outpatient and emergency visits of the register)
-- rule: a prescription belongs to its visit through the visit number (PV1-19); counted in the month and clinic of the consultation
-- configurable: $denominator: 'all' (every visit) or 'with_prescription' (visits with a drug prescription only, as one implementation does); $include_emergency (default true); the essential-medicine flag (ref_drug.essential)
-- unconfirmed: yes (denominator exclusions of health checks and visits without prescriptions)
-- param denominator: all
-- param include_emergency: true
SELECT v.encounter_id AS case_id, v.day, v.department, CASE WHEN p.essential > 0 THEN 1 ELSE 0 END AS numerator,
       1 AS denominator,
       CASE WHEN p.essential > 0 THEN 'essential medicines: ' || p.essential_drugs
            WHEN p.n > 0 THEN 'prescription without essential medicines'
            ELSE 'no prescription' END AS rule
FROM visit v
LEFT JOIN (SELECT visit_id, count(*) AS n, count(*) FILTER (WHERE essential) AS essential,
                  string_agg(DISTINCT drug_code, ', ' ORDER BY drug_code) FILTER (WHERE essential) AS essential_drugs
           FROM med_order WHERE visit_id IS NOT NULL GROUP BY visit_id) p ON p.visit_id = v.encounter_id
WHERE (v.class = 'AMB' OR CAST($include_emergency AS BOOLEAN))
  AND (CAST($denominator AS VARCHAR) = 'all' OR p.n > 0)
