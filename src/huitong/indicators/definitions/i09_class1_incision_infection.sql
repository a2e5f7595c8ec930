-- id: 9
-- name_zh: Ⅰ类切口手术部位感染率
-- name_en: Surgical site infection rate for Class I (clean) incisions
-- dimension: 医疗质量 / 质量安全
-- national_monitoring: yes
-- direction: lower
-- unit: %
-- factor: 100
-- source: 病案首页 (切口等级 QKDJ, 切口愈合类别 QKYHLB)
-- numerator: Ⅰ类切口手术部位感染人次数: class I operations with healing grade 丙 (3)
-- denominator: 同期Ⅰ类切口手术台次数: operations and interventions with incision class Ⅰ
-- rule: implementations treat incision class Ⅰ with healing grade 丙 as infection; counted per operation
-- configurable: $infected_healing_grade (default 3 = 丙)
-- unconfirmed: yes (verify against the current manual)
-- param infected_healing_grade: 3
SELECT procedure_id AS case_id, day, department,
       CASE WHEN healing_grade = $infected_healing_grade THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       CASE WHEN healing_grade = $infected_healing_grade THEN 'class I incision healed 丙: '
            ELSE 'class I incision healed ' || coalesce(healing_grade, '?') || ': ' END || code AS rule
FROM operation WHERE is_operation AND incision_class = '1'
