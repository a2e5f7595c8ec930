-- id: 5
-- name_zh: 出院患者微创手术占比
-- name_en: Share of minimally invasive surgery among discharged surgical patients
-- dimension: 医疗质量 / 功能定位
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: 病案首页 + minimally-invasive list of the procedure catalogue
-- numerator: 出院患者微创手术台次数 (persons with at least one minimally invasive operation)
-- denominator: 同期出院患者手术台次数 (persons with at least one operation or interventional treatment)
-- rule: persons, not operations; minimally invasive per the national list in the manual appendix (ref_procedure.minimally_invasive)
-- configurable: the minimally-invasive list (ref_procedure.minimally_invasive)
-- unconfirmed: yes (catalogue version)
SELECT encounter_id AS case_id, any_value(day) AS day, any_value(department) AS department,
       CASE WHEN bool_or(minimally_invasive) THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       CASE WHEN bool_or(minimally_invasive)
            THEN 'minimally invasive: ' || string_agg(code, ', ' ORDER BY code) FILTER (WHERE minimally_invasive)
            ELSE 'surgical discharge, no minimally invasive operation' END AS rule
FROM operation WHERE is_operation GROUP BY encounter_id
