-- id: 17
-- name_zh: 抗菌药物使用强度（DDDs）
-- name_en: Antimicrobial use density (DDDs per 100 patient-days)
-- dimension: 医疗质量 / 合理用药
-- national_monitoring: yes
-- direction: lower
-- unit: DDDs/百人天
-- factor: 100
-- source: nursing administrations (HL7 RAS^O17) + drug dictionary (WHO ATC/DDD, antimicrobial flag) + 病案首页 (bed-days)
-- numerator: 住院患者抗菌药物使用量（累计DDD数）: Σ over the administrations of antimicrobials to discharged patients of dose ÷ DDD
-- denominator: 同期收治患者人天数 = 出院患者人数 × 平均住院天数 = bed-days of the discharges
-- rule: DDDs per 100 patient-days; each administered dose converted to the DDD's unit (g, mg, ug; U and mL must match); an administration counts with its stay, in the month and department of discharge; antimicrobials per the dictionary's antimicrobial flag (ATC J01, J02 …)
-- configurable: the antimicrobial flag and DDD of each product (ref_drug)
-- unconfirmed: no
SELECT d.encounter_id AS case_id, d.day, d.department, coalesce(a.ddds, 0) AS numerator, d.los_days AS denominator,
       CASE WHEN a.n > 0 THEN round(a.ddds, 3) || ' DDDs of ' || a.drugs || ' over ' || d.los_days || ' bed-days'
            ELSE 'no antimicrobial; ' || d.los_days || ' bed-days' END AS rule
FROM discharge d
LEFT JOIN (SELECT discharge_id, count(*) AS n, sum(ddds) AS ddds,
                  string_agg(DISTINCT drug_code, ', ' ORDER BY drug_code) AS drugs
           FROM med_administration WHERE antimicrobial AND discharge_id IS NOT NULL GROUP BY discharge_id) a
  ON a.discharge_id = d.encounter_id
