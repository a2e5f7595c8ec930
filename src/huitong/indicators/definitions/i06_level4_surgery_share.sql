-- id: 6
-- name_zh: 出院患者四级手术比例
-- name_en: Share of level-4 (most complex) surgery among discharged surgical patients
-- dimension: 医疗质量 / 功能定位
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: 病案首页 (手术级别 SSJB)
-- numerator: 出院患者四级手术台次数 (persons with at least one level-4 operation, incl. interventions managed as level 4)
-- denominator: 同期出院患者手术台次数 (persons with at least one operation or interventional treatment)
-- rule: persons, not operations; level as coded on the front page
-- configurable: $level_source: 'frontpage' (SSJB as coded) or 'catalogue' (ref_procedure.level, the national level-4 catalogue)
-- unconfirmed: yes (catalogue version)
-- param level_source: frontpage
WITH ops AS (
  SELECT o.*, CASE WHEN $level_source = 'catalogue' THEN p.level ELSE o.level END = '4' AS level4
  FROM operation o LEFT JOIN ref_procedure p ON p.code = o.code WHERE o.is_operation
)
SELECT encounter_id AS case_id, any_value(day) AS day, any_value(department) AS department,
       CASE WHEN bool_or(level4) THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       CASE WHEN bool_or(level4) THEN 'level-4 operation: ' || string_agg(code, ', ' ORDER BY code) FILTER (WHERE level4)
            ELSE 'surgical discharge, no level-4 operation' END AS rule
FROM ops GROUP BY encounter_id
