-- id: aux.outpatient_drug_cost_per_visit
-- name_zh: 门诊患者次均药品费用
-- name_en: Average drug cost per outpatient visit
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 元
-- factor: 1
-- source: HIS itemised charges + outpatient register
-- numerator: 门诊药品收入 (charges in the drug income categories)
-- denominator: 门诊人次数
-- rule: basis of indicator 39
-- configurable: $drug_categories (default DRUG_W,DRUG_CPM,DRUG_HERB: 西药, 中成药, 中草药)
-- unconfirmed: no
-- param drug_categories: DRUG_W,DRUG_CPM,DRUG_HERB
WITH drugs AS (
  SELECT encounter_id, sum(amount) AS amount FROM encounter_charge
  WHERE list_contains(string_split($drug_categories, ','), income_category) GROUP BY encounter_id
)
SELECT v.encounter_id AS case_id, v.day, v.department, coalesce(d.amount, 0) AS numerator, 1 AS denominator,
       'drug cost ' || round(coalesce(d.amount, 0), 2) AS rule
FROM visit v LEFT JOIN drugs d ON d.encounter_id = v.encounter_id
