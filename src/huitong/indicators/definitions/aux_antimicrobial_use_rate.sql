-- id: aux.antimicrobial_use_rate
-- name_zh: 住院患者抗菌药物使用率
-- name_en: Discharged patients given antimicrobials
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: lower
-- unit: %
-- factor: 100
-- source: nursing administrations (HL7 RAS^O17) + drug dictionary + 病案首页
-- numerator: discharges with at least one antimicrobial administration
-- denominator: all discharges
-- rule: companion of indicator 17 (the antimicrobial stewardship campaign's usage rate)
-- configurable: the antimicrobial flag of each product (ref_drug)
-- unconfirmed: no
SELECT d.encounter_id AS case_id, d.day, d.department, CASE WHEN a.drugs IS NOT NULL THEN 1 ELSE 0 END AS numerator,
       1 AS denominator, coalesce('antimicrobials: ' || a.drugs, 'no antimicrobial') AS rule
FROM discharge d
LEFT JOIN (SELECT discharge_id, string_agg(DISTINCT drug_code, ', ' ORDER BY drug_code) AS drugs
           FROM med_administration WHERE antimicrobial AND discharge_id IS NOT NULL GROUP BY discharge_id) a
  ON a.discharge_id = d.encounter_id
