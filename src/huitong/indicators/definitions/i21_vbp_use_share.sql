-- id: 21
-- name_zh: 国家组织药品集中采购中标药品使用比例
-- name_en: Use share of nationally procured (volume-based procurement) drugs
-- dimension: 医疗质量 / 合理用药
-- national_monitoring: no
-- direction: higher
-- unit: %
-- factor: 100
-- source: inpatient administrations (HL7 RAS^O17), outpatient prescriptions (RDE^O11) + drug dictionary (VBP flag, DDD)
-- numerator: 中标药品用量: DDDs of volume-based-procurement (集采中标) products
-- denominator: 同期同通用名药品用量: DDDs of every product whose generic name has a VBP product
-- rule: use measured in DDDs (inpatients: administered doses; outpatients: dispensed packs × strength); generic name from the dictionary (ref_drug.generic_zh); an encounter counts in the month and department of its discharge or consultation
-- configurable: the VBP flag and generic name of each product (ref_drug)
-- unconfirmed: yes (later lists measure the amount, 金额占比, instead of the volume)
SELECT d.encounter_id AS case_id, d.day, d.department, a.vbp_ddds AS numerator, a.ddds AS denominator,
       'inpatient: ' || round(a.vbp_ddds, 3) || ' of ' || round(a.ddds, 3) || ' DDDs of ' || a.generics AS rule
FROM discharge d
JOIN (SELECT discharge_id, coalesce(sum(ddds) FILTER (WHERE vbp), 0) AS vbp_ddds, sum(ddds) AS ddds,
             string_agg(DISTINCT generic_zh, ', ' ORDER BY generic_zh) AS generics
      FROM med_administration WHERE vbp_generic AND discharge_id IS NOT NULL GROUP BY discharge_id) a
  ON a.discharge_id = d.encounter_id
UNION ALL
SELECT v.encounter_id, v.day, v.department, p.vbp_ddds, p.ddds,
       'outpatient: ' || round(p.vbp_ddds, 3) || ' of ' || round(p.ddds, 3) || ' DDDs of ' || p.generics
FROM visit v
JOIN (SELECT visit_id, coalesce(sum(dispensed_ddds) FILTER (WHERE vbp), 0) AS vbp_ddds,
             sum(dispensed_ddds) AS ddds, string_agg(DISTINCT generic_zh, ', ' ORDER BY generic_zh) AS generics
      FROM med_order WHERE vbp_generic AND visit_id IS NOT NULL GROUP BY visit_id) p ON p.visit_id = v.encounter_id
