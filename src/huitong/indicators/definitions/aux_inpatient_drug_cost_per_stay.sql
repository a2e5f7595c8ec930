-- id: aux.inpatient_drug_cost_per_stay
-- name_zh: 出院患者次均药品费用
-- name_en: Average drug cost per discharge
-- dimension: 辅助指标
-- national_monitoring: no
-- direction: monitor
-- unit: 元
-- factor: 1
-- source: HIS itemised charges + 病案首页
-- numerator: 出院患者药品费用 (charges in the drug income categories)
-- denominator: 出院人次数
-- rule: basis of indicator 41
-- configurable: $drug_categories (default DRUG_W,DRUG_CPM,DRUG_HERB)
-- unconfirmed: no
-- param drug_categories: DRUG_W,DRUG_CPM,DRUG_HERB
WITH drugs AS (
  SELECT encounter_id, sum(amount) AS amount FROM encounter_charge
  WHERE list_contains(string_split($drug_categories, ','), income_category) GROUP BY encounter_id
)
SELECT s.encounter_id AS case_id, s.day, s.department, coalesce(d.amount, 0) AS numerator, 1 AS denominator,
       'drug cost ' || round(coalesce(d.amount, 0), 2) AS rule
FROM discharge s LEFT JOIN drugs d ON d.encounter_id = s.encounter_id
