-- id: 4
-- name_zh: 出院患者手术占比
-- name_en: Share of discharged patients who had surgery
-- dimension: 医疗质量 / 功能定位
-- national_monitoring: yes
-- direction: higher
-- unit: %
-- factor: 100
-- source: 病案首页 (front page) + procedure catalogue
-- numerator: 出院患者手术台次数, counted as persons: discharges with at least one operation or interventional treatment
-- denominator: 同期出院患者总人次数 (all dispositions: 医嘱离院, 医嘱转院, 非医嘱离院, 死亡, 其他)
-- rule: 2019 manual: persons, not operations; surgery and interventional treatment added; category from the procedure catalogue (手术操作分类代码国家临床版 category flag)
-- configurable: which procedure categories count (ref_procedure.category: surgery, intervention); catalogue edition
-- unconfirmed: no
SELECT d.encounter_id AS case_id, d.day, d.department,
       CASE WHEN o.n > 0 THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       CASE WHEN o.n > 0 THEN 'operation: ' || o.codes ELSE 'discharge without operation' END AS rule
FROM discharge d
LEFT JOIN (SELECT encounter_id, count(*) AS n, string_agg(code, ', ' ORDER BY code) AS codes
           FROM operation WHERE is_operation GROUP BY encounter_id) o ON o.encounter_id = d.encounter_id
