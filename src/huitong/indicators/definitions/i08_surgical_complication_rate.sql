-- id: 8
-- name_zh: 手术患者并发症发生率
-- name_en: Surgical complication rate
-- dimension: 医疗质量 / 质量安全
-- national_monitoring: yes
-- direction: lower
-- unit: %
-- factor: 100
-- source: 病案首页 + complication code list (ref_diagnosis.complication)
-- numerator: 手术患者并发症发生例数: elective surgical discharges with a diagnosis on the complication list whose 入院病情 is 无 (4)
-- denominator: 同期出院的手术患者人数: discharges with an elective operation or intervention, excluding pregnancy, childbirth, perinatal and neonatal principal diagnoses
-- rule: present-on-admission 4 (无) marks a complication arising in hospital; exclusions by principal diagnosis O*, P*, Z37*
-- configurable: $complication_poa (default 4); $excluded_prefixes (default O, P, Z37); the complication list
-- unconfirmed: yes (code list and present-on-admission rule come from public implementations)
-- param complication_poa: 4
-- param excluded_prefixes: O,P,Z37
WITH elective AS (
  SELECT DISTINCT encounter_id FROM operation WHERE is_operation AND elective
), complications AS (
  SELECT dx.encounter_id, string_agg(dx.code, ', ' ORDER BY dx.code) AS codes
  FROM ht_diagnosis dx JOIN ref_diagnosis r ON r.code = dx.code
  WHERE r.complication = '1' AND dx.present_on_admission = $complication_poa
  GROUP BY dx.encounter_id
)
SELECT d.encounter_id AS case_id, d.day, d.department,
       CASE WHEN c.codes IS NULL THEN 0 ELSE 1 END AS numerator, 1 AS denominator,
       CASE WHEN c.codes IS NULL THEN 'elective surgical discharge without complication'
            ELSE 'complication not present on admission: ' || c.codes END AS rule
FROM discharge d
JOIN elective e ON e.encounter_id = d.encounter_id
LEFT JOIN complications c ON c.encounter_id = d.encounter_id
WHERE NOT list_bool_or(list_transform(string_split($excluded_prefixes, ','), lambda x: starts_with(coalesce(d.principal, ''), x)))
