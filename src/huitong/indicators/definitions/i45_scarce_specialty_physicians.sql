-- id: 45
-- name_zh: 麻醉、儿科、重症、病理、中医医师占比
-- name_en: Share of anaesthesia, paediatric, critical-care, pathology and TCM physicians
-- dimension: 持续发展 / 人员结构
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: staff master data (执业范围 practice scope)
-- numerator: 医院注册的麻醉（儿科、重症、病理、中医）在岗医师数, one ratio per specialty
-- denominator: 全院同期医师总数
-- rule: five separate ratios by registered scope of practice; hospital level, year only
-- configurable: the scope names below (VALUES)
-- unconfirmed: no
-- periods: year
-- scope: hospital
-- sub_units: anaesthesia=%|100; paediatrics=%|100; critical_care=%|100; pathology=%|100; tcm=%|100
-- sub_names: anaesthesia=麻醉; paediatrics=儿科; critical_care=重症; pathology=病理; tcm=中医
WITH specialty(key, scope) AS (
  VALUES ('anaesthesia', '麻醉'), ('paediatrics', '儿科'), ('critical_care', '重症医学'), ('pathology', '病理'), ('tcm', '中医')
)
SELECT s.staff_id AS case_id, CAST($from AS DATE) AS day, NULL AS department, k.key AS sub_id,
       CASE WHEN s.practice_scope = k.scope THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       'physician, scope ' || coalesce(s.practice_scope, '?') AS rule
FROM ref_staff s CROSS JOIN specialty k WHERE s.role = 'physician'
