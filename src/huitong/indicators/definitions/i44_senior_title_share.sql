-- id: 44
-- name_zh: 卫生技术人员职称结构
-- name_en: Professional title structure of health technical staff
-- dimension: 持续发展 / 人员结构
-- national_monitoring: no
-- direction: monitor
-- unit: %
-- factor: 100
-- source: staff master data (imported CSV)
-- numerator: 具有高级职称的卫生技术人员数 (title grade senior: 主任/副主任 grades)
-- denominator: 全院同期卫生技术人员总数 (physicians, nurses, pharmacists, technicians)
-- rule: hospital level, year only
-- configurable: $technical_roles (default physician,nurse,pharmacist,technician)
-- unconfirmed: no
-- periods: year
-- scope: hospital
-- param technical_roles: physician,nurse,pharmacist,technician
SELECT staff_id AS case_id, CAST($from AS DATE) AS day, NULL AS department,
       CASE WHEN title_grade = 'senior' THEN 1 ELSE 0 END AS numerator, 1 AS denominator,
       role || ', title grade ' || title_grade AS rule
FROM ref_staff WHERE list_contains(string_split($technical_roles, ','), role)
